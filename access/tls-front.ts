import { randomBytes } from 'node:crypto'
import type tls from 'node:tls'
import { TLS_HARDENING, type OrgRegistry } from '../certs/index.js'
import { DEFAULT_TRUST_POLICY, type TrustPolicy } from './certificate-trust.js'
import { AccessError, type AccessErrorCode } from './errors.js'
import { OcspChecker, type OcspCheckerOptions } from './ocsp/ocsp-checker.js'
import { OrgContexts, type TlsPolicy } from './org-contexts.js'
import { IdentityResolver } from './resolve.js'

export interface TlsFrontPolicy extends TlsPolicy {
  readonly trust?: TrustPolicy
  /** The per-CA OCSP check's bounds, metric and log (`ca ocsp on`). */
  readonly ocsp?: OcspCheckerOptions
}

/**
 * The OCSP response to staple for the server certificate a handshake presents
 * (DER in, DER out), or undefined for none; it never throws
 * (certs' OcspResponder.staple).
 */
export type OcspStapler = (certificateDer: Buffer) => Promise<Buffer | undefined>

/**
 * The TLS face of every listener that authenticates devices (MQTT over TLS,
 * secure WebSocket, HTTPS, the shared port): the options each listener is
 * built with, and what follows a registry change on all of them at once, so
 * that no listener can lag behind another. It holds the organisations'
 * secure contexts and the one resolver (with its certificate cache).
 */
export class TlsFront {
  readonly contexts: OrgContexts
  readonly resolver: IdentityResolver
  private readonly servers = new Set<tls.Server>()
  private readonly onChange = (orgId: string): void => this.follow(orgId)

  constructor (private readonly registry: OrgRegistry, private readonly policy: TlsFrontPolicy, private readonly options: { readonly stapler?: OcspStapler } = {}) {
    this.contexts = new OrgContexts(registry, policy)
    this.resolver = new IdentityResolver(registry, this.contexts, policy.trust ?? DEFAULT_TRUST_POLICY, new OcspChecker(policy.ocsp))
    registry.on('changed', this.onChange)
  }

  /**
   * Listener options: the default organisation's context for clients without
   * SNI, the SNI callback for the rest, and a client certificate asked for but
   * not enforced by Node, which would drop the connection before anything
   * about the certificate could be logged: the resolver decides.
   */
  serverOptions (): tls.TlsOptions {
    const contexts = this.contexts
    return {
      ...contexts.defaultContextOptions(),
      ...TLS_HARDENING,
      minVersion: this.policy.minVersion,
      requestCert: true,
      rejectUnauthorized: false,
      SNICallback: function (this: tls.TLSSocket | undefined, servername, done) { contexts.sniCallback(this, servername, done) }
    }
  }

  /**
   * Keeps a listener built from `serverOptions` in step with the registry
   * until `close`, and staples OCSP responses on it (RFC 6066 8) for a client
   * that asks (status_request) when a stapler is given: Node hands over the
   * certificate of the context the SNI callback chose, so each organisation's
   * own server certificate gets its own response.
   */
  attach (server: tls.Server): void {
    this.servers.add(server)
    server.once('close', () => this.servers.delete(server))
    const stapler = this.options.stapler
    if (stapler !== undefined) {
      server.on('OCSPRequest', (certificate: Buffer, _issuer: Buffer, done: (err: Error | null, response?: Buffer) => void) => {
        // Without a response the handshake goes on unstapled; an error here would end it.
        void stapler(certificate).then(response => done(null, response))
      })
    }
  }

  /** Why a handshake failed, in the identity path's codes. */
  handshakeRefusal (err: Error & { code?: string }, socket: tls.TLSSocket): AccessErrorCode {
    if (err instanceof AccessError) return err.code
    if (err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT') return 'BROKER_ERR_TLS_HANDSHAKE_TIMEOUT'
    // Without SNI the server's own context answers: with no default organisation it has no certificate.
    return !socket.servername && !this.contexts.orgForServername(undefined).ok ? 'BROKER_ERR_TLS_NO_SNI' : 'BROKER_ERR_TLS_HANDSHAKE'
  }

  close (): void {
    this.registry.off('changed', this.onChange)
    this.servers.clear()
  }

  private follow (orgId: string): void {
    this.contexts.rebuild(orgId)
    const defaults = orgId === this.policy.defaultOrg ? this.contexts.defaultContextOptions() : undefined
    for (const server of this.servers) {
      // New ticket keys: a session resumed from an old ticket would skip the
      // handshake's verification of a certificate that may no longer be trusted.
      server.setTicketKeys(randomBytes(48))
      // Clients without SNI get the default organisation's context (hardening included): its new server certificate too.
      if (defaults !== undefined) server.setSecureContext(defaults)
    }
  }
}
