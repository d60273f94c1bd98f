import { CertsError } from '../errors.js'
import { revokeCert } from '../issuer.js'
import type { Actor, OrgRegistry } from '../org-registry.js'
import type { IssuedCertRecord, RenewalRecord } from '../records.js'

/**
 * A renewal whose answer never reached the device (the connection dropped
 * after the server issued) leaves it holding only the old certificate; RFC
 * 7030 4.2.2/4.2.3 lets it send simplereenroll again. Such a retry is told
 * apart from a stolen old certificate renewing after the device moved on by
 * the replacement's first use (first-use.ts): unused, the renewal may be
 * issued again and the unused replacement is superseded; used, the old
 * certificate is done.
 */

/**
 * Replacements one certificate may get while none of them is used: the first
 * renewal and two retries. A thief holding the old certificate and its key
 * can already renew once (as the device could); this bounds how many more
 * certificates it mints before an operator looks (`cert list` shows them).
 */
export const MAX_UNUSED_REPLACEMENTS = 3

/** What a renewal of `current` is: a first one, or a retry of the renewal record as stored now (`prior`). */
export type RenewalKind = { readonly kind: 'first' } | { readonly kind: 'retry', readonly prior: RenewalRecord }

/**
 * `issued` is read only without a pending renewal (a retry needs no list of
 * every certificate of the organisation): then a replacement on record means
 * its renewal was retired (used, or expired).
 */
export async function renewalKindOf (current: IssuedCertRecord, prior: RenewalRecord | undefined, issued: () => Promise<readonly IssuedCertRecord[]>): Promise<RenewalKind> {
  if (prior === undefined) {
    if ((await issued()).some(r => r.replaces === current.id)) throw alreadyReplaced()
    return { kind: 'first' }
  }
  if (prior.firstUsedAt !== undefined) throw alreadyReplaced()
  if (replacementsOf(prior) >= MAX_UNUSED_REPLACEMENTS) {
    throw new CertsError('CERTS_ERR_RENEW_RETRIES_EXHAUSTED', `this certificate got ${MAX_UNUSED_REPLACEMENTS} replacements and none was used: an operator issues the next one`)
  }
  return { kind: 'retry', prior }
}

/** Replacements issued for this renewal so far; a record written before retries existed counts one. */
export function replacementsOf (renewal: RenewalRecord): number {
  return renewal.replacements ?? 1
}

/**
 * Points the renewal at the retry's replacement with a compare-and-set on the
 * record as `prior` read it: if the unused replacement was used meanwhile (or
 * another retry won), the retry is refused and its own certificate revoked,
 * so exactly one replacement is live. Then the superseded one is revoked
 * through the path of `cert revoke`.
 */
export async function supersede (registry: OrgRegistry, orgId: string, prior: RenewalRecord, next: RenewalRecord, actor: Actor): Promise<void> {
  // Announced: every process learns the new fingerprint, to notice its first use.
  if (!await registry.store.swap(orgId, 'renewals', prior, next, { announce: true })) {
    await revokeCert(registry, orgId, next.certId, actor)
    throw alreadyReplaced()
  }
  await revokeCert(registry, orgId, prior.certId, actor)
  registry.audit(actor, 'cert.supersede', orgId, {
    certId: prior.certId, commonName: prior.commonName, replaces: prior.id, supersededBy: next.certId, reason: 'superseded', replacements: replacementsOf(next)
  })
}

export function alreadyReplaced (): CertsError {
  return new CertsError('CERTS_ERR_RENEW_ALREADY_REPLACED', 'this certificate has already been renewed and its replacement used: only the replacement may renew')
}
