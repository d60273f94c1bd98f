import { createHash, randomUUID } from 'node:crypto'
import { readCsr } from '../csr.js'
import { checkRequestedKey } from '../csr-key-strength.js'
import { CertsError } from '../errors.js'
import { issue, orgAuthority } from '../issuance.js'
import { issuedStateOf } from '../issuer.js'
import { parseIdentityName } from '../names.js'
import type { Actor, OrgRegistry } from '../org-registry.js'
import { managedCaOf, type ClaimRecord, type EnrollTokenRecord, type IssuedCertRecord, type OrgState } from '../records.js'
import { claimStateOf } from './claims.js'
import { tokenIdOf, tokenRefusal } from './enroll-tokens.js'
import { changeRecord } from './record-change.js'

/**
 * Enrollment, whatever carries it (EST over HTTPS now, MQTT later): who may
 * have a certificate for the identity a CSR names, decided here; the
 * certificate itself comes from the one issuance path. The transport
 * authenticates the caller (a claim certificate the identity path verified,
 * or the token it was handed) and maps the CertsError codes to its answer.
 */

/** What authorises an enrollment. */
export type EnrollmentAuthorisation =
  /** A claim certificate `c:<claimName>`, already verified as trusted in the organisation by the transport; its SHA-256 fingerprint (hex). */
  | { readonly kind: 'claim', readonly claimName: string, readonly fingerprint: string }
  /** A one-time enrollment token as the caller presented it. */
  | { readonly kind: 'token', readonly token: string }

export interface Enrolled {
  readonly record: IssuedCertRecord
  /** The new certificate, then the managed CA that signed it: what an EST answer carries (RFC 7030 4.2.3). */
  readonly chainPems: readonly string[]
}

// How long one enrollment holds its identity: longer than an issuance takes, short enough that a failed one frees it soon.
const ENROLL_LEASE_MS = 60_000

export async function enroll (registry: OrgRegistry, orgId: string, csrPem: string, authorisation: EnrollmentAuthorisation, actor: Actor): Promise<Enrolled> {
  const state = registry.require(orgId)
  const commonName = identityOfCsr(csrPem, authorisation)
  const now = new Date()
  // Checked before anything is consumed, so a refused request costs no claim use and burns no token.
  if (authorisation.kind === 'claim') claimRefusalOf(await registry.store.get(orgId, 'claims', authorisation.claimName), authorisation, commonName, now)
  else throwIf(tokenRefusal(await storedToken(registry, orgId, authorisation.token), commonName, now))
  await refuseEnrolled(registry, state, commonName, authorisation, now)
  await holdIdentity(registry, orgId, commonName)
  const use = await consume(registry, orgId, authorisation, commonName)
  const issued = await issue(orgAuthority(registry, orgId), { kind: 'client', profile: 'client', names: [commonName], csrPem }, actor)
  const record = issued.record
  registry.audit(actor, authorisation.kind === 'claim' ? 'enroll.claim' : 'enroll.token', orgId, {
    ...use, commonName, certId: record.id, serial: record.serial, fingerprint: record.fingerprint
  })
  return { record, chainPems: [record.certPem, managedCaOf(registry.require(orgId)).certPem] }
}

/** The CSR's CN (its self-signature and key strength checked): the identity to enroll. A claim enrolls devices only. */
function identityOfCsr (csrPem: string, authorisation: EnrollmentAuthorisation): string {
  const csr = readCsr(csrPem)
  // issue() checks the key too, but after the claim use or the token is spent: a weak key must cost neither.
  checkRequestedKey(csr.publicKeyPem)
  const commonName = csr.commonName
  const name = commonName === undefined ? undefined : parseIdentityName(commonName)
  if (commonName === undefined || name === undefined) {
    throw new CertsError('CERTS_ERR_NAME_INVALID', 'the CSR\'s subject CN must be the identity to enroll: d:<type>:<id> (g:<type>:<id> or a:<app> with a token)')
  }
  if (authorisation.kind === 'claim' && name.kind !== 'device') throw new CertsError('CERTS_ERR_ENROLL_NOT_DEVICE', 'a claim enrolls device identities (d:<type>:<id>) only')
  return commonName
}

function claimRefusalOf (claim: ClaimRecord | undefined, authorisation: { readonly claimName: string, readonly fingerprint: string }, commonName: string, now: Date): ClaimRecord {
  // A claim re-created under the same name has another certificate: the old one speaks for nothing.
  if (claim === undefined || claim.fingerprint !== authorisation.fingerprint) throw new CertsError('CERTS_ERR_CLAIM_NOT_FOUND', `no claim ${authorisation.claimName} with this certificate`)
  const state = claimStateOf(claim, now)
  if (state === 'revoked') throw new CertsError('CERTS_ERR_CLAIM_REVOKED', `claim ${claim.id} was revoked`)
  if (state === 'expired') throw new CertsError('CERTS_ERR_CLAIM_EXPIRED', `claim ${claim.id} expired at ${claim.expiresAt}`)
  if (state === 'exhausted') throw new CertsError('CERTS_ERR_CLAIM_EXHAUSTED', `claim ${claim.id} has enrolled ${claim.uses} of ${String(claim.maxUses)} devices`)
  const typeId = commonName.split(':')[1]
  if (!claim.types.includes(typeId)) throw new CertsError('CERTS_ERR_CLAIM_TYPE_NOT_ALLOWED', `claim ${claim.id} enrolls types ${claim.types.join(', ')}, not ${typeId}`)
  return claim
}

async function storedToken (registry: OrgRegistry, orgId: string, token: string): Promise<EnrollTokenRecord | undefined> {
  const id = tokenIdOf(token)
  return id === undefined ? undefined : await registry.store.get(orgId, 'enroll-tokens', id)
}

/** "Already enrolled": an unrevoked certificate of that identity that has not expired. */
async function refuseEnrolled (registry: OrgRegistry, state: OrgState, commonName: string, authorisation: EnrollmentAuthorisation, now: Date): Promise<void> {
  const records = (await registry.store.list(state.org.id, 'issued')).filter(r => r.commonName === commonName)
  const states = records.map(r => issuedStateOf(r, state, now))
  if (states.includes('active')) {
    throw new CertsError('CERTS_ERR_ALREADY_ENROLLED', `${commonName} already has a certificate in organisation ${state.org.id}; revoke it to enroll again`)
  }
  // A claim's key is shared by a whole batch: whoever extracts it from one device must not
  // re-enroll an identity an operator revoked (a compromised device). Enrolling it again is
  // an operator's act: a one-time token, or cert issue.
  if (authorisation.kind === 'claim' && states.includes('revoked')) {
    throw new CertsError('CERTS_ERR_IDENTITY_REVOKED', `an operator revoked ${commonName}'s certificate: a claim cannot enroll it again; enroll it with a one-time token (mqgate enroll-token create)`)
  }
}

/**
 * Two enrollments of one identity at once (two claims, two processes) would
 * both pass refuseEnrolled: the identity's lease lets one through; the other
 * is refused as the one is issued. The lease runs out on its own.
 */
async function holdIdentity (registry: OrgRegistry, orgId: string, commonName: string): Promise<void> {
  const name = `enroll-${createHash('sha256').update(`${orgId}\n${commonName}`).digest('hex').slice(0, 32)}`
  if (!await registry.store.lease(name, randomUUID(), ENROLL_LEASE_MS)) {
    throw new CertsError('CERTS_ERR_ALREADY_ENROLLED', `${commonName} is being enrolled right now`)
  }
}

/** Takes one use of the claim or the token's only one, by compare-and-set: refused when another process took the last. */
async function consume (registry: OrgRegistry, orgId: string, authorisation: EnrollmentAuthorisation, commonName: string): Promise<Record<string, unknown>> {
  const now = new Date()
  if (authorisation.kind === 'claim') {
    const claim = await changeRecord(registry.store, orgId, 'claims', authorisation.claimName, current => {
      const checked = claimRefusalOf(current, authorisation, commonName, now)
      return { ...checked, uses: checked.uses + 1 }
    })
    return { claim: claim.id, use: claim.uses, maxUses: claim.maxUses ?? null }
  }
  const id = tokenIdOf(authorisation.token) as string
  const token = await changeRecord(registry.store, orgId, 'enroll-tokens', id, current => {
    throwIf(tokenRefusal(current, commonName, now))
    return { ...current as EnrollTokenRecord, usedAt: now.toISOString() }
  })
  return { tokenHash: token.id.slice(0, 16) }
}

function throwIf (refusal: CertsError | undefined): void {
  if (refusal !== undefined) throw refusal
}
