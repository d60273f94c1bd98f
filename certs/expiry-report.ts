import { listIssued } from './issuer.js'
import type { OrgRegistry } from './org-registry.js'
import { activeServerCertOf, trustedCasOf } from './records.js'

export interface Expiry {
  readonly orgId: string
  readonly kind: 'device' | 'ca' | 'server'
  /** Seconds until the earliest expiry of that kind (negative when already expired). */
  readonly seconds: number
}

/**
 * For each organisation: how long until its first client certificate (not
 * revoked, not yet expired), its first trusted CA and its active server
 * certificate expire. Reads every issued certificate: callers cache it.
 */
export async function expiriesOf (registry: OrgRegistry, now = Date.now()): Promise<Expiry[]> {
  const expiries: Expiry[] = []
  for (const state of registry.list()) {
    const orgId = state.org.id
    const revoked = new Set(state.revocations.map(r => r.fingerprint))
    const devices = (await listIssued(registry, orgId)).filter(r => !revoked.has(r.fingerprint)).map(r => Date.parse(r.expiresOn)).filter(t => t > now)
    if (devices.length > 0) expiries.push({ orgId, kind: 'device', seconds: (Math.min(...devices) - now) / 1000 })
    const cas = trustedCasOf(state).map(ca => Date.parse(ca.notAfter))
    if (cas.length > 0) expiries.push({ orgId, kind: 'ca', seconds: (Math.min(...cas) - now) / 1000 })
    const server = activeServerCertOf(state).notAfter
    if (server !== undefined) expiries.push({ orgId, kind: 'server', seconds: (Date.parse(server) - now) / 1000 })
  }
  return expiries
}
