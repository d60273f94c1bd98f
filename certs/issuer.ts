import { CertsError } from './errors.js'
import { issue, orgAuthority, type Issued } from './issuance.js'
import type { Actor, OrgRegistry } from './org-registry.js'
import { kindOf, LISTED_KINDS, normalizeSerial, type IssuedCertRecord, type OrgState, type RevocationRecord } from './records.js'

export type { Issued } from './issuance.js'

/**
 * Client certificates of an organisation's managed CA (`mqgate cert ...`):
 * issuance for the identities of design.md only, lookup, and revocation,
 * which every broker process sharing the store applies at once.
 */

export interface IssueRequest {
  readonly commonName: string
  /** The requester's CSR; without one the key is generated and returned once. */
  readonly csrPem?: string
  readonly days?: number
}

/** An operator's device, gateway or application certificate, through the one issuance path. */
export async function issueClientCert (registry: OrgRegistry, orgId: string, request: IssueRequest, actor: Actor): Promise<Issued> {
  return await issue(orgAuthority(registry, orgId), { kind: 'client', profile: 'client', names: [request.commonName], csrPem: request.csrPem, days: request.days }, actor)
}

/** In issue order; only the identities operators manage (LISTED_KINDS) unless `all`. */
export async function listIssued (registry: OrgRegistry, orgId: string, options: { all?: boolean } = {}): Promise<IssuedCertRecord[]> {
  registry.require(orgId)
  // Ties (two processes in one millisecond) fall back to the id, so the order is the same on every call.
  return (await registry.store.list(orgId, 'issued'))
    .filter(r => options.all === true || LISTED_KINDS.includes(kindOf(r)))
    .sort((a, b) => a.issuedOn.localeCompare(b.issuedOn) || a.id.localeCompare(b.id))
}

/** By id, serial number (any case, colons allowed) or SHA-256 fingerprint. */
export async function findIssued (registry: OrgRegistry, orgId: string, ref: string): Promise<IssuedCertRecord> {
  registry.require(orgId)
  const byId = /^[0-9a-f-]{36}$/.test(ref) ? await registry.store.get(orgId, 'issued', ref) : undefined
  if (byId !== undefined) return byId
  const fingerprint = ref.replaceAll(':', '').toLowerCase()
  const serial = normalizeSerial(ref)
  const found = (await registry.store.list(orgId, 'issued')).find(r => r.fingerprint === fingerprint || (/^[0-9A-Fa-f:]+$/.test(ref) && normalizeSerial(r.serial) === serial))
  if (found === undefined) throw new CertsError('CERTS_ERR_CERT_NOT_FOUND', `no certificate ${ref.slice(0, 100)} in organisation ${orgId}`)
  return found
}

export type IssuedState = 'active' | 'revoked' | 'expired'

export function issuedStateOf (record: IssuedCertRecord, org: OrgState, now = new Date()): IssuedState {
  if (org.revocations.some(r => r.fingerprint === record.fingerprint)) return 'revoked'
  return new Date(record.expiresOn) < now ? 'expired' : 'active'
}

/** Revokes at once: every broker process drops live sessions using it and refuses it from then on. */
export async function revokeCert (registry: OrgRegistry, orgId: string, ref: string, actor: Actor): Promise<IssuedCertRecord> {
  const record = await findIssued(registry, orgId, ref)
  if (registry.require(orgId).revocations.some(r => r.fingerprint === record.fingerprint)) return record
  const revocation: RevocationRecord = {
    fingerprint: record.fingerprint,
    serial: record.serial,
    certId: record.id,
    commonName: record.commonName,
    revokedAt: new Date().toISOString()
  }
  await registry.store.put(orgId, 'revocations', revocation)
  registry.audit(actor, 'cert.revoke', orgId, { certId: record.id, commonName: record.commonName, serial: record.serial, fingerprint: record.fingerprint })
  await registry.reload(orgId)
  return record
}

export async function restoreCert (registry: OrgRegistry, orgId: string, ref: string, actor: Actor): Promise<IssuedCertRecord> {
  const record = await findIssued(registry, orgId, ref)
  await registry.store.remove(orgId, 'revocations', record.fingerprint)
  registry.audit(actor, 'cert.restore', orgId, { certId: record.id, commonName: record.commonName, serial: record.serial, fingerprint: record.fingerprint })
  await registry.reload(orgId)
  return record
}
