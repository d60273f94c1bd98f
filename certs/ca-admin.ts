import { refuseUnacknowledgedSharing, sameCaElsewhere } from './ca-sharing.js'
import { readSingleCertificate } from './certificate-input.js'
import { readCrl } from './crl.js'
import { CertsError } from './errors.js'
import { refuseIncludedPrivateKey } from './included-key.js'
import { caRecordFrom, type Actor, type OrgRegistry } from './org-registry.js'
import type { CaRecord } from './records.js'
import { CA_UPLOAD_RULES, enforce } from './upload-rules.js'

/**
 * The operator verbs on an organisation's trusted CAs (`mqgate ca ...`). Every
 * check runs before anything is written, so a refused upload changes nothing.
 */

export interface AddCaOptions {
  /** The operator knows this CA is trusted by another organisation too, and wants that (`--shared`). */
  readonly shared?: boolean
}

export async function addCa (registry: OrgRegistry, orgId: string, certificate: string | Buffer, description: string, actor: Actor, options: AddCaOptions = {}): Promise<CaRecord> {
  const state = registry.require(orgId)
  refuseIncludedPrivateKey(certificate)
  const facts = readSingleCertificate(certificate)
  enforce(CA_UPLOAD_RULES, facts)
  if (state.cas.some(c => c.fingerprint === facts.fingerprint)) {
    throw new CertsError('CERTS_ERR_CA_EXISTS', 'this CA is already registered for the organisation')
  }
  const elsewhere = sameCaElsewhere(registry, orgId, facts)
  refuseUnacknowledgedSharing(elsewhere, options.shared === true)
  const base = caRecordFrom(facts, { kind: 'uploaded', description: description.slice(0, 200), addedAt: new Date().toISOString() })
  const record: CaRecord = elsewhere.length > 0 ? { ...base, shared: true } : base
  await registry.store.put(orgId, 'cas', record)
  registry.audit(actor, 'ca.add', orgId, {
    caId: record.id,
    subject: record.subject,
    fingerprint: record.fingerprint,
    notAfter: record.notAfter,
    ...(elsewhere.length > 0 ? { sharedWith: elsewhere.map(e => e.orgId) } : {})
  })
  await registry.reload(orgId)
  return record
}

export async function setCaEnabled (registry: OrgRegistry, orgId: string, caId: string, enabled: boolean, actor: Actor): Promise<CaRecord> {
  const ca = uploadedCa(registry, orgId, caId)
  const updated: CaRecord = { ...ca, enabled }
  await registry.store.put(orgId, 'cas', updated)
  registry.audit(actor, enabled ? 'ca.enable' : 'ca.disable', orgId, { caId, fingerprint: ca.fingerprint })
  await registry.reload(orgId)
  return updated
}

export async function removeCa (registry: OrgRegistry, orgId: string, caId: string, actor: Actor): Promise<CaRecord> {
  const ca = uploadedCa(registry, orgId, caId)
  await registry.store.remove(orgId, 'cas', caId)
  registry.audit(actor, 'ca.remove', orgId, { caId, fingerprint: ca.fingerprint })
  await registry.reload(orgId)
  return ca
}

/** Loads (or replaces) the CRL of an uploaded CA; its serials are refused from the next CONNECT on. */
export async function loadCrl (registry: OrgRegistry, orgId: string, caId: string, crl: string | Buffer, actor: Actor): Promise<CaRecord> {
  const ca = uploadedCa(registry, orgId, caId)
  const record = readCrl(crl, readSingleCertificate(ca.certPem).x509)
  const updated: CaRecord = { ...ca, crl: record }
  await registry.store.put(orgId, 'cas', updated)
  registry.audit(actor, 'ca.crl', orgId, { caId, fingerprint: ca.fingerprint, crlFingerprint: record.fingerprint, revokedSerials: record.serials.length })
  await registry.reload(orgId)
  return updated
}

export function findCa (registry: OrgRegistry, orgId: string, caId: string): CaRecord {
  const ca = registry.require(orgId).cas.find(c => c.id === caId)
  if (ca === undefined) throw new CertsError('CERTS_ERR_CA_NOT_FOUND', `no CA ${caId} in organisation ${orgId}`)
  return ca
}

/** The managed CA signs the organisation's own server and client certificates: switching it off is revoking instead. */
export function uploadedCa (registry: OrgRegistry, orgId: string, caId: string): CaRecord {
  const ca = findCa(registry, orgId, caId)
  if (ca.kind === 'managed') {
    throw new CertsError('CERTS_ERR_CA_MANAGED', 'the managed CA cannot be disabled, removed or given a CRL; revoke its certificates with `cert revoke`')
  }
  return ca
}
