import { X509Certificate } from 'node:crypto'
import { issue, orgAuthority, type OrgRegistry } from '../certs/index.js'

export interface ClientTls {
  readonly certPem: string
  readonly keyPem: string
}

/** The identity the bridge presents to the temps API of each organisation. */
export const BRIDGE_COMMON_NAME = 'a:mqgate-bridge'
const RENEW_BEFORE_MS = 60 * 60 * 1000

/**
 * The bridge's client certificate for an organisation: the one the operator
 * configured (MQGATE_BRIDGE_CERT_FILE/KEY_FILE) for every organisation, else a
 * short-lived `a:mqgate-bridge` certificate from the organisation's managed CA,
 * made in memory and renewed an hour before it expires. Each one is issued
 * through the one issuance path and recorded as kind `bridge` (`cert list
 * --all`), so a leaked bridge key can be revoked like any other; a revoked one
 * is replaced at the next reading.
 */
export class BridgeCredentials {
  private readonly issued = new Map<string, Promise<ClientTls & { fingerprint: string, notAfter: number }>>()

  constructor (private readonly registry: OrgRegistry | undefined, private readonly fixed?: ClientTls) {}

  async for (orgId: string): Promise<ClientTls> {
    if (this.fixed !== undefined) return this.fixed
    const cached = this.issued.get(orgId)
    if (cached !== undefined) {
      // One issuance per organisation at a time: concurrent readings share it.
      const current = await cached.catch(() => undefined)
      if (current !== undefined && current.notAfter - Date.now() > RENEW_BEFORE_MS && !this.revoked(orgId, current.fingerprint)) return current
      if (this.issued.get(orgId) !== cached) return await this.for(orgId)
    }
    const registry = this.registry
    if (registry === undefined) throw new Error('the bridge has no client certificate: set MQGATE_BRIDGE_CERT_FILE and MQGATE_BRIDGE_KEY_FILE')
    const fresh = (async () => {
      // P-256: made on the event loop when the first reading of an organisation is
      // forwarded, where an RSA key (hundreds of ms) stalled every client.
      const made = await issue(orgAuthority(registry, orgId), { kind: 'bridge', profile: 'client', names: [BRIDGE_COMMON_NAME], days: 2, keyType: 'ec' }, 'bridge')
      return { certPem: made.record.certPem, keyPem: made.keyPem as string, fingerprint: made.record.fingerprint, notAfter: Date.parse(new X509Certificate(made.record.certPem).validTo) }
    })()
    this.issued.set(orgId, fresh)
    fresh.catch(() => { if (this.issued.get(orgId) === fresh) this.issued.delete(orgId) })
    return await fresh
  }

  /** An operator revoked it (a leaked key): the temps API now refuses it, so the next reading gets a new one. */
  private revoked (orgId: string, fingerprint: string): boolean {
    return this.registry?.get(orgId)?.revocations.some(r => r.fingerprint === fingerprint) === true
  }
}
