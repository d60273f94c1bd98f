import type { TLSSocket } from 'node:tls'
import { LRUCache } from 'lru-cache'
import type { FastifyRequest } from 'fastify'
import { checkCertificateTrust, codeForVerifyError, identityFromCertificate, peerCertificatesOf, sniOrgOf, type Identity, type OrgContexts, type TrustPolicy } from '../../broker/index.js'
import { inspectCertificate, type CertificateFacts, type OrgRegistry } from '../../certs/index.js'

/** Who is calling the temps API: the organisation (from SNI, as for MQTT) and, with a trusted certificate, the identity. */
export type Caller =
  | { readonly orgId: string, readonly identity: Identity, readonly fingerprint: string }
  | { readonly orgId: string, readonly identity: undefined, readonly code: string, readonly fingerprint?: string }

/**
 * Decides the caller of each request afresh: TLS verified the certificate at
 * the handshake, but a kept-alive or resumed connection outlives revocations
 * and CA changes, so trust and revocation are checked against the registry as
 * it is now, per request (as the broker does per CONNECT).
 */
export class CallerResolver {
  private readonly facts = new LRUCache<string, CertificateFacts>({ max: 10_000 })

  constructor (private readonly registry: OrgRegistry, private readonly contexts: OrgContexts, private readonly policy: TrustPolicy) {}

  resolve (request: FastifyRequest): Caller | undefined {
    const socket = request.raw.socket as TLSSocket
    // A TLS 1.2 session resumed from a ticket keeps no SNI name: the Host header names the organisation
    // then (as client-chosen as SNI), and the certificate must be trusted there.
    const name = typeof socket.servername === 'string' ? socket.servername : socket.isSessionReused() ? request.hostname.replace(/:\d+$/, '') : undefined
    const byName = this.contexts.orgForServername(name)
    const orgId = sniOrgOf(socket) ?? (byName.ok ? byName.value : undefined)
    if (orgId === undefined) return undefined
    // The chain first: asking for the X509Certificate first loses it (see peer-chain.ts).
    const { peer, chain } = peerCertificatesOf(socket)
    if (peer === undefined) return { orgId, identity: undefined, code: 'BRIDGE_ERR_API_CLIENT_CERT_REQUIRED' }
    if (!socket.authorized) return { orgId, identity: undefined, code: codeForVerifyError(socket.authorizationError), fingerprint: peer.fingerprint256 }
    const facts = this.inspect(peer.raw, peer.fingerprint256)
    const state = this.registry.get(orgId)
    if (facts === undefined || state === undefined) return { orgId, identity: undefined, code: 'BROKER_ERR_CERT_UNPARSABLE' }
    const trust = checkCertificateTrust(facts, chain, state, new Date(), this.policy)
    if (!trust.ok) return { orgId, identity: undefined, code: trust.code, fingerprint: facts.fingerprint }
    const identity = identityFromCertificate(facts)
    if (!identity.ok) return { orgId, identity: undefined, code: identity.code, fingerprint: facts.fingerprint }
    return { orgId, identity: identity.value, fingerprint: facts.fingerprint }
  }

  private inspect (der: Buffer, fingerprint: string): CertificateFacts | undefined {
    let facts = this.facts.get(fingerprint)
    if (facts === undefined) {
      try {
        facts = inspectCertificate(der)
      } catch {
        return undefined
      }
      this.facts.set(fingerprint, facts)
    }
    return facts
  }
}
