import { X509Certificate } from 'node:crypto'
import { createClientCertificate, type OrgRegistry } from '../certs/index.js'

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
 * made in memory and renewed an hour before it expires.
 */
export class BridgeCredentials {
  private readonly issued = new Map<string, ClientTls & { notAfter: number }>()

  constructor (private readonly registry: OrgRegistry | undefined, private readonly fixed?: ClientTls) {}

  for (orgId: string): ClientTls {
    if (this.fixed !== undefined) return this.fixed
    const cached = this.issued.get(orgId)
    if (cached !== undefined && cached.notAfter - Date.now() > RENEW_BEFORE_MS) return cached
    if (this.registry === undefined) throw new Error('the bridge has no client certificate: set MQGATE_BRIDGE_CERT_FILE and MQGATE_BRIDGE_KEY_FILE')
    // P-256: made on the event loop when the first reading of an organisation is
    // forwarded, where an RSA key (hundreds of ms) stalled every client.
    const made = createClientCertificate(this.registry.signerOf(orgId), BRIDGE_COMMON_NAME, { days: 2, keyType: 'ec' })
    const fresh = { certPem: made.certPem, keyPem: made.keyPem as string, notAfter: Date.parse(new X509Certificate(made.certPem).validTo) }
    this.issued.set(orgId, fresh)
    return fresh
  }
}
