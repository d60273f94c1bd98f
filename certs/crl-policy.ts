import { findCa } from './ca-admin.js'
import { CertsError } from './errors.js'
import type { Actor, OrgRegistry } from './org-registry.js'
import type { CaRecord, CrlPolicy, OrgState } from './records.js'

/**
 * What happens to a CA's devices once its loaded CRL passes nextUpdate
 * (RFC 5280 5.1.2.5): `open` keeps the last list (the default: a late CRL
 * should not take a fleet offline), `closed` refuses them until a fresh CRL
 * arrives, as IBM Watson IoT does when it cannot fetch a CRL.
 */
export async function setCrlPolicy (registry: OrgRegistry, orgId: string, caId: string, policy: CrlPolicy, actor: Actor): Promise<CaRecord> {
  const ca = findCa(registry, orgId, caId)
  if (ca.kind === 'managed') {
    throw new CertsError('CERTS_ERR_CA_MANAGED', 'the managed CA publishes its own CRL; a CRL policy applies to uploaded CAs')
  }
  const updated: CaRecord = { ...ca, crlPolicy: policy }
  await registry.store.put(orgId, 'cas', updated)
  registry.audit(actor, 'ca.crl-policy', orgId, { caId, fingerprint: ca.fingerprint, policy })
  await registry.reload(orgId)
  return updated
}

export function crlPolicyOf (ca: CaRecord): CrlPolicy {
  return ca.crlPolicy ?? 'open'
}

/** True when the CA has a loaded CRL whose nextUpdate has passed. */
export function isCrlStale (ca: CaRecord, now: Date): boolean {
  const next = ca.crl?.nextUpdate
  return next !== undefined && Date.parse(next) < now.getTime()
}

/**
 * True when the CA's CRL is fetched from a distribution point (`ca
 * crl-source`) and no list has been loaded yet: the first fetch has not
 * succeeded. Under `closed` its devices are refused meanwhile.
 */
export function isCrlUnavailable (ca: CaRecord): boolean {
  return ca.crlSource !== undefined && ca.crl === undefined
}

/** One loaded CRL's deadline: seconds until its nextUpdate (negative once past). */
export interface CrlDeadline {
  readonly orgId: string
  readonly caId: string
  readonly nextUpdate: Date
  readonly seconds: number
  readonly policy: CrlPolicy
  /** The loaded CRL (a fresh one has another fingerprint). */
  readonly crlFingerprint: string
}

/** Every loaded CRL that names a nextUpdate, across the organisations given. */
export function crlDeadlinesOf (orgs: readonly OrgState[], now: Date): CrlDeadline[] {
  return orgs.flatMap(state => state.cas.flatMap(ca => {
    if (ca.crl?.nextUpdate === undefined) return []
    const nextUpdate = new Date(ca.crl.nextUpdate)
    return [{ orgId: state.org.id, caId: ca.id, nextUpdate, seconds: (nextUpdate.getTime() - now.getTime()) / 1000, policy: crlPolicyOf(ca), crlFingerprint: ca.crl.fingerprint }]
  }))
}
