import { randomUUID } from 'node:crypto'
import { inspectCertificate } from '../certificate-facts.js'
import { readCsr } from '../csr.js'
import { checkRequestedKey } from '../csr-key-strength.js'
import { CertsError } from '../errors.js'
import { issue, orgAuthority, type Issued } from '../issuance.js'
import { parseIdentityName } from '../names.js'
import type { Actor, OrgRegistry } from '../org-registry.js'
import { kindOf, type IssuedCertRecord, type IssuedKind, type OrgState, type RenewalRecord } from '../records.js'
import { renewableFrom, renewalWindowOf } from './renewal-window.js'

/**
 * Renewal with the current certificate (RFC 7030 4.2.2, `simplereenroll`),
 * transport-neutral: the EST route and renewal over MQTT call `renew` with
 * the issued record of the certificate the caller authenticated with. The new
 * certificate goes through the one issuance path, names the one it replaces,
 * and a RenewalRecord schedules the old one's retirement (retirement.ts).
 */

/** What renews: the identities operators manage, not servers, the bridge, OCSP signers or claims. */
const RENEWABLE_KINDS: readonly IssuedKind[] = ['client', 'bootstrap']

/**
 * How long one renewal of a certificate holds it against a concurrent one (any
 * process): its records are written within milliseconds; one that failed
 * frees the certificate when this runs out.
 */
const RENEWAL_LOCK_MS = 30_000

/**
 * The issued record of the certificate with this SHA-256 fingerprint, signed
 * by a CA of this organisation: the managed CA, or one it replaced (`org
 * ca-key move-to` keeps the old one for trust only, and renewal is how its
 * devices move to the new one); CERTS_ERR_RENEW_NOT_ISSUED otherwise.
 */
export async function renewableRecordOf (registry: OrgRegistry, orgId: string, fingerprint: string): Promise<IssuedCertRecord> {
  const state = registry.require(orgId)
  const record = (await registry.store.list(orgId, 'issued')).find(r => r.fingerprint === fingerprint)
  if (record === undefined || !state.cas.some(ca => ca.id === record.caId) || !RENEWABLE_KINDS.includes(kindOf(record)) || parseIdentityName(record.commonName) === undefined) {
    throw new CertsError('CERTS_ERR_RENEW_NOT_ISSUED', 'only a device, gateway or application certificate issued by this organisation\'s managed CA renews here')
  }
  return record
}

/**
 * Issues the replacement of `current` for the key of `csrPem` (a new key is
 * allowed and recommended), same subject, same validity length. Refused, each
 * with its code, when `current` is revoked, expired, already replaced, not in
 * the organisation's renewal window yet, or the CSR names another subject.
 */
export async function renew (registry: OrgRegistry, orgId: string, current: IssuedCertRecord, csrPem: string, actor: Actor, now = new Date()): Promise<Issued> {
  const state = registry.require(orgId)
  checkRenewable(state, current, now)
  checkSubject(current, csrPem)
  const issued = await registry.store.list(orgId, 'issued')
  if (issued.some(r => r.replaces === current.id)) throw alreadyReplaced()
  // Two renewals of one certificate at once (two processes, or a retried request) would both pass the checks above.
  if (!await registry.store.lease(`renewal-of.${current.id}`, randomUUID(), RENEWAL_LOCK_MS)) {
    throw new CertsError('CERTS_ERR_RENEW_IN_PROGRESS', 'another renewal of this certificate is in progress: try again in 30 seconds')
  }
  const result = await issue(orgAuthority(registry, orgId), {
    kind: kindOf(current) === 'bootstrap' ? 'client' : kindOf(current),
    profile: 'client',
    names: [current.commonName],
    csrPem,
    days: current.validityDays,
    replaces: current.id
  }, actor)
  const renewal: RenewalRecord = {
    id: current.id,
    replacedFingerprint: current.fingerprint,
    replacedSerial: current.serial,
    replacedExpiresOn: current.expiresOn,
    certId: result.record.id,
    fingerprint: result.record.fingerprint,
    commonName: current.commonName,
    renewedAt: result.record.issuedOn
  }
  // Announced: every process learns the new certificate's fingerprint, to notice its first use.
  await registry.store.put(orgId, 'renewals', renewal)
  registry.audit(actor, 'cert.renew', orgId, { certId: result.record.id, replaces: current.id, commonName: current.commonName, serial: result.record.serial, replacedSerial: current.serial })
  await registry.reload(orgId)
  return result
}

function checkRenewable (state: OrgState, current: IssuedCertRecord, now: Date): void {
  if (state.revocations.some(r => r.fingerprint === current.fingerprint)) {
    throw new CertsError('CERTS_ERR_RENEW_REVOKED', 'the certificate has been revoked: it cannot renew')
  }
  const { notBefore, notAfter } = inspectCertificate(current.certPem)
  if (now > notAfter || now < notBefore) throw new CertsError('CERTS_ERR_RENEW_EXPIRED', 'the certificate is not within its validity: enroll again')
  if ((state.renewals ?? []).some(r => r.id === current.id)) throw alreadyReplaced()
  const window = renewalWindowOf(state)
  const from = renewableFrom(notBefore, notAfter, window)
  if (now < from) {
    throw new CertsError('CERTS_ERR_RENEW_TOO_EARLY', `this organisation renews certificates in the last ${window}% of their lifetime: this one from ${from.toISOString()}`)
  }
}

/** RFC 7030 4.2.2: the Subject of the request is the certificate's; mqgate's client certificates name their holder in the CN alone. */
function checkSubject (current: IssuedCertRecord, csrPem: string): void {
  const csr = readCsr(csrPem)
  // Before the renewal lease is taken: a weak key refused inside issue() would block the device's next try for 30 s.
  checkRequestedKey(csr.publicKeyPem)
  if (csr.commonName !== current.commonName) {
    throw new CertsError('CERTS_ERR_RENEW_SUBJECT_MISMATCH', `a renewal keeps the subject: CN=${current.commonName}, not ${csr.commonName === undefined ? 'no CN' : `CN=${csr.commonName.slice(0, 100)}`} (RFC 7030 4.2.2)`)
  }
}

function alreadyReplaced (): CertsError {
  return new CertsError('CERTS_ERR_RENEW_ALREADY_REPLACED', 'this certificate has already been renewed: only its replacement may renew')
}
