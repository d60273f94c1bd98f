import { randomUUID } from 'node:crypto'
import { inspectCertificate } from '../certificate-facts.js'
import { readCsr } from '../csr.js'
import { checkRequestedKey } from '../csr-key-strength.js'
import { CertsError } from '../errors.js'
import { issue, orgAuthority, type Issued } from '../issuance.js'
import { parseIdentityName } from '../names.js'
import type { Actor, OrgRegistry } from '../org-registry.js'
import { kindOf, type IssuedCertRecord, type IssuedKind, type OrgState, type RenewalRecord } from '../records.js'
import { renewalKindOf, replacementsOf, supersede } from './renewal-retry.js'
import { renewableFrom, renewalWindowOf } from './renewal-window.js'

/**
 * Renewal with the current certificate (RFC 7030 4.2.2, `simplereenroll`),
 * transport-neutral: the EST route and renewal over MQTT call `renew` with
 * the issued record of the certificate the caller authenticated with. The new
 * certificate goes through the one issuance path, names the one it replaces,
 * and a RenewalRecord schedules the old one's retirement (retirement.ts); a
 * retry before the replacement's first use supersedes it (renewal-retry.ts).
 */

/** What renews: the identities operators manage, not servers, the bridge, OCSP signers or claims. */
const RENEWABLE_KINDS: readonly IssuedKind[] = ['client', 'bootstrap']

/**
 * How long one renewal of a certificate holds it against a concurrent one (any
 * process): freed as soon as it is done (renew's finally); a process that
 * died issuing frees the certificate when this runs out.
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
 * with its code, when `current` is revoked, expired, already replaced by a
 * certificate that has been used, not in the organisation's renewal window
 * yet, or the CSR names another subject. A renewal whose replacement was
 * never used is a retry (renewal-retry.ts): issued again, the unused
 * replacement revoked, up to MAX_UNUSED_REPLACEMENTS.
 */
export async function renew (registry: OrgRegistry, orgId: string, current: IssuedCertRecord, csrPem: string, actor: Actor, now = new Date()): Promise<Issued> {
  const state = registry.require(orgId)
  checkRenewable(state, current, now)
  checkSubject(current, csrPem)
  // Two renewals of one certificate at once (two processes, or a retried request) would both pass the checks above.
  const lease = `renewal-of.${current.id}`
  const holder = randomUUID()
  if (!await registry.store.lease(lease, holder, RENEWAL_LOCK_MS)) {
    throw new CertsError('CERTS_ERR_RENEW_IN_PROGRESS', 'another renewal of this certificate is in progress: try again in 30 seconds')
  }
  try {
    return await renewHeld(registry, orgId, current, csrPem, actor)
  } finally {
    // Freed at once: a device whose answer was lost retries now, not in 30 s (a failed release lapses anyway).
    await registry.store.lease(lease, holder, 1).catch(() => undefined)
  }
}

/** Under the renewal lease: decides first renewal or retry from the records as stored now, issues, records. */
async function renewHeld (registry: OrgRegistry, orgId: string, current: IssuedCertRecord, csrPem: string, actor: Actor): Promise<Issued> {
  const prior = await registry.store.get(orgId, 'renewals', current.id)
  const decided = await renewalKindOf(current, prior, async () => await registry.store.list(orgId, 'issued'))
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
    renewedAt: result.record.issuedOn,
    replacements: decided.kind === 'retry' ? replacementsOf(decided.prior) + 1 : 1
  }
  if (decided.kind === 'retry') {
    await supersede(registry, orgId, decided.prior, renewal, actor)
  } else {
    // Announced: every process learns the new certificate's fingerprint, to notice its first use.
    await registry.store.put(orgId, 'renewals', renewal)
  }
  registry.audit(actor, 'cert.renew', orgId, {
    certId: result.record.id, replaces: current.id, commonName: current.commonName, serial: result.record.serial, replacedSerial: current.serial, retry: decided.kind === 'retry'
  })
  await registry.reload(orgId)
  return result
}

function checkRenewable (state: OrgState, current: IssuedCertRecord, now: Date): void {
  if (state.revocations.some(r => r.fingerprint === current.fingerprint)) {
    throw new CertsError('CERTS_ERR_RENEW_REVOKED', 'the certificate has been revoked: it cannot renew')
  }
  const { notBefore, notAfter } = inspectCertificate(current.certPem)
  if (now > notAfter || now < notBefore) throw new CertsError('CERTS_ERR_RENEW_EXPIRED', 'the certificate is not within its validity: enroll again')
  const window = renewalWindowOf(state)
  const from = renewableFrom(notBefore, notAfter, window)
  if (now < from) {
    throw new CertsError('CERTS_ERR_RENEW_TOO_EARLY', `this organisation renews certificates in the last ${window}% of their lifetime: this one from ${from.toISOString()}`)
  }
}

/** RFC 7030 4.2.2: the Subject of the request is the certificate's; mqgate's client certificates name their holder in the CN alone. */
function checkSubject (current: IssuedCertRecord, csrPem: string): void {
  const csr = readCsr(csrPem)
  // Before the renewal lease is taken: a refusal that needs no store round trip.
  checkRequestedKey(csr.publicKeyPem)
  if (csr.commonName !== current.commonName) {
    throw new CertsError('CERTS_ERR_RENEW_SUBJECT_MISMATCH', `a renewal keeps the subject: CN=${current.commonName}, not ${csr.commonName === undefined ? 'no CN' : `CN=${csr.commonName.slice(0, 100)}`} (RFC 7030 4.2.2)`)
  }
}
