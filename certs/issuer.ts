import { randomUUID } from 'node:crypto'
import { inspectCertificate } from './certificate-facts.js'
import { createCsr, readCsr } from './csr.js'
import { CertsError } from './errors.js'
import { parseIdentityName } from './names.js'
import type { Actor, OrgRegistry } from './org-registry.js'
import { createClientCertificate, PROFILE_DAYS } from './profiles.js'
import { normalizeSerial, type IssuedCertRecord, type OrgState, type RevocationRecord } from './records.js'

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

export interface Issued {
  readonly record: IssuedCertRecord
  /** Only when the key was generated here: handed to the caller, never stored. */
  readonly keyPem?: string
}

export async function issueClientCert (registry: OrgRegistry, orgId: string, request: IssueRequest, actor: Actor): Promise<Issued> {
  registry.require(orgId)
  if (parseIdentityName(request.commonName) === undefined) {
    throw new CertsError('CERTS_ERR_NAME_INVALID', 'the CN must be d:<type>:<id>, g:<type>:<id> or a:<app>, each name 1-64 characters of A-Z a-z 0-9 . _ -')
  }
  const days = request.days ?? PROFILE_DAYS.client
  if (!Number.isInteger(days) || days < 1 || days > 3650) throw new CertsError('CERTS_ERR_DAYS_INVALID', 'validity must be 1 to 3650 days')
  const csr = request.csrPem === undefined ? undefined : readCsr(request.csrPem)
  if (csr?.commonName !== undefined && csr.commonName !== request.commonName) {
    throw new CertsError('CERTS_ERR_CSR_CN_MISMATCH', `the CSR names "${csr.commonName.slice(0, 100)}", not ${request.commonName}`)
  }
  const signer = registry.signerOf(orgId)
  // The instant of issue, not the certificate's notBefore: that one is back-dated
  // for clock skew and has whole seconds only, so it cannot order what one
  // second issued.
  const issuedOn = new Date().toISOString()
  const issued = createClientCertificate(signer, request.commonName, { days, publicKeyPem: csr?.publicKeyPem, crlUrl: registry.options.crlUrlFor?.(orgId) })
  const facts = inspectCertificate(issued.certPem)
  const record: IssuedCertRecord = {
    id: randomUUID(),
    caId: registry.require(orgId).org.managedCaId,
    commonName: request.commonName,
    serial: facts.serial,
    fingerprint: facts.fingerprint,
    ski: facts.subjectKeyIdentifier ?? '',
    signatureAlgorithm: 'SHA256WithRSA',
    certPem: issued.certPem,
    csrPem: request.csrPem ?? createCsr(issued.keyPem as string, request.commonName, []),
    issuedOn,
    expiresOn: facts.notAfter.toISOString(),
    validityDays: days
  }
  await registry.store.put(orgId, 'issued', record, { quiet: true })
  registry.audit(actor, 'cert.issue', orgId, { certId: record.id, commonName: record.commonName, serial: record.serial, fingerprint: record.fingerprint, expiresOn: record.expiresOn, keyGenerated: csr === undefined })
  return issued.keyPem === undefined ? { record } : { record, keyPem: issued.keyPem }
}

export async function listIssued (registry: OrgRegistry, orgId: string): Promise<IssuedCertRecord[]> {
  registry.require(orgId)
  // Ties (two processes in one millisecond) fall back to the id, so the order is the same on every call.
  return (await registry.store.list(orgId, 'issued')).sort((a, b) => a.issuedOn.localeCompare(b.issuedOn) || a.id.localeCompare(b.id))
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
