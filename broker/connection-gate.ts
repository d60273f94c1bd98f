import type { X509Certificate } from 'node:crypto'
import type tls from 'node:tls'
import type { Logger } from 'pino'
import { LRUCache } from 'lru-cache'
import { inspectCertificate, type CertificateFacts } from '../certs/index.js'
import { codeForVerifyError } from './certificate-trust.js'
import { refused, type Checked } from './errors.js'
import { SILENT_OBSERVER, type BrokerObserver } from './observer.js'
import { identityFromCertificate, type Identity } from './identity.js'
import { peerCertificatesOf } from './peer-chain.js'
import { sniOrgOf, type OrgContexts } from './tls-contexts.js'

/** What the TLS layer established about a connection, before any MQTT packet. */
export interface ConnectionInfo {
  /**
   * The organisation the SNI name chose; undefined for a TLS 1.2 session
   * resumed from a ticket, where OpenSSL keeps no server name (and Node calls
   * no SNI callback): CONNECT then takes the organisation its clientId names,
   * and the certificate must be trusted there like any other.
   */
  readonly orgId: string | undefined
  readonly servername: string | undefined
  readonly remoteAddress: string | undefined
  readonly certificate: CertificateFacts
  /** Intermediates the client sent after its certificate, decoded on first use. */
  readonly presentedChain: () => readonly X509Certificate[]
  /** The identity the certificate names, or why it names none (answered with CONNACK 5 at CONNECT). */
  readonly identity: Checked<Identity>
}

// Keyed by the stream handed to aedes (it becomes `client.conn`): a WeakMap
// needs no type augmentation and cannot outlive the socket.
const connections = new WeakMap<object, ConnectionInfo>()

export function connectionInfoOf (conn: object): ConnectionInfo | undefined {
  return connections.get(conn)
}

/**
 * Admits a socket whose handshake completed, or closes it. Verification
 * failures are decided here rather than by Node's rejectUnauthorized, which
 * destroys the socket before anything about the certificate can be logged.
 */
export class ConnectionGate {
  // Devices reconnect with the same certificate: decode each one once.
  private readonly facts = new LRUCache<string, CertificateFacts>({ max: 10_000 })

  constructor (private readonly contexts: OrgContexts, private readonly log: Logger, private readonly observer: BrokerObserver = SILENT_OBSERVER) {}

  admit (socket: tls.TLSSocket): ConnectionInfo | undefined {
    const servername = typeof socket.servername === 'string' ? socket.servername : undefined
    const base = { servername, remoteAddress: socket.remoteAddress }
    const sniOrg = sniOrgOf(socket)
    const nameless = sniOrg === undefined && servername === undefined && socket.isSessionReused()
    const org = sniOrg !== undefined || nameless ? { ok: true as const, value: sniOrg } : this.contexts.orgForServername(servername)
    if (!org.ok) return this.refuse(socket, { ...base, code: org.code }, org.reason)
    const { peer, chain } = peerCertificatesOf(socket)
    if (peer === undefined) {
      return this.refuse(socket, { ...base, orgId: org.value, code: 'BROKER_ERR_NO_CLIENT_CERT' }, 'no client certificate')
    }
    const certificate = this.inspect(peer)
    if (!certificate.ok) {
      return this.refuse(socket, { ...base, orgId: org.value, code: certificate.code, fingerprint: peer.fingerprint256 }, certificate.reason)
    }
    const fingerprint = certificate.value.fingerprint
    if (!socket.authorized) {
      const code = codeForVerifyError(socket.authorizationError)
      return this.refuse(socket, { ...base, orgId: org.value, code, fingerprint, verifyError: String(socket.authorizationError) }, 'client certificate refused')
    }
    const info: ConnectionInfo = {
      orgId: org.value,
      ...base,
      certificate: certificate.value,
      presentedChain: chain,
      identity: identityFromCertificate(certificate.value)
    }
    connections.set(socket, info)
    return info
  }

  private inspect (peer: X509Certificate): Checked<CertificateFacts> {
    const cached = this.facts.get(peer.fingerprint256)
    if (cached !== undefined) return { ok: true, value: cached }
    try {
      const facts = inspectCertificate(peer.raw)
      this.facts.set(peer.fingerprint256, facts)
      return { ok: true, value: facts }
    } catch {
      return refused('BROKER_ERR_CERT_UNPARSABLE', 'the client certificate could not be decoded')
    }
  }

  private refuse (socket: tls.TLSSocket, fields: Record<string, unknown> & { code: string }, message: string): undefined {
    this.observer.connectionRefused(fields.code)
    this.log.warn({ event: 'tls.refused', stage: 'tls', ...fields }, message)
    socket.destroy()
    return undefined
  }
}
