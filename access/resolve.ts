import { X509Certificate } from 'node:crypto'
import type tls from 'node:tls'
import { LRUCache } from 'lru-cache'
import { inspectCertificate, ocspCheckOf, type CaRecord, type CertificateFacts, type OrgRegistry } from '../certs/index.js'
import { checkCertificateTrust, codeForVerifyError, DEFAULT_TRUST_POLICY, type TrustPolicy } from './certificate-trust.js'
import { stateOf } from './connection-state.js'
import { claimNameFromCertificate, identityFromCertificate } from './identity.js'
import { clientIdBelongsTo, orgOfClientId } from './names.js'
import type { OcspChecker } from './ocsp/ocsp-checker.js'
import type { OrgContexts } from './org-contexts.js'
import { peerCertificatesOf } from './peer-chain.js'
import type { Admitted, Claimant, Principal, Refusal, Resolved, Stage } from './principal.js'

/**
 * What names the organisation when the TLS layer kept none (a TLS 1.2
 * session resumed from a ticket): the MQTT clientId, or the HTTP Host. As
 * client-chosen as SNI, and the certificate must be trusted there.
 */
export type OrgHint = { readonly clientId: string } | { readonly host: string }

/**
 * The one answer to "who is on this connection, in which organisation", for
 * every transport. `admit` runs once, after the handshake, on what TLS
 * established; `principal` runs at each MQTT CONNECT and each HTTP request
 * against the registry as it is now (a resumed session carries the
 * certificate of its first handshake, possibly under another organisation or
 * before a revocation); `recheck` re-runs the trust check of a live session.
 */
export class IdentityResolver {
  // Devices reconnect with the same certificate: each one is decoded once.
  private readonly facts = new LRUCache<string, CertificateFacts>({ max: 10_000 })

  constructor (
    private readonly registry: OrgRegistry,
    private readonly contexts: OrgContexts,
    private readonly policy: TrustPolicy = DEFAULT_TRUST_POLICY,
    /** The per-CA OCSP check (`ca ocsp on`); without it, principalChecked is principal. */
    private readonly ocsp?: OcspChecker
  ) {}

  /** What the handshake established, kept in the connection's state; refused if it establishes no usable certificate. */
  admit (socket: tls.TLSSocket): Resolved<Admitted> {
    const state = stateOf(socket)
    if (state.admitted !== undefined) return { ok: true, value: state.admitted }
    const servername = typeof socket.servername === 'string' ? socket.servername : undefined
    const nameless = state.sniOrg === undefined && servername === undefined && socket.isSessionReused()
    const org = state.sniOrg !== undefined || nameless ? { ok: true as const, value: state.sniOrg } : this.contexts.orgForServername(servername)
    if (!org.ok) return refusal(org, 'tls')
    const { peer, chain } = peerCertificatesOf(socket)
    if (peer === undefined) return refusal({ code: 'BROKER_ERR_NO_CLIENT_CERT', reason: 'no client certificate' }, 'tls', { orgId: org.value })
    const certificate = this.inspect(peer)
    if (certificate === undefined) {
      return refusal({ code: 'BROKER_ERR_CERT_UNPARSABLE', reason: 'the client certificate could not be decoded' }, 'tls', { orgId: org.value, fingerprint: peer.fingerprint256 })
    }
    if (!socket.authorized && !this.partialChainWithoutSni(state.sniOrg, socket, org.value, certificate, chain)) {
      const verifyError = String(socket.authorizationError)
      return refusal({ code: codeForVerifyError(socket.authorizationError), reason: 'client certificate refused' }, 'tls', { orgId: org.value, fingerprint: certificate.fingerprint, verifyError })
    }
    state.admitted = { orgId: org.value, servername, remoteAddress: socket.remoteAddress, certificate, presentedChain: chain }
    // What admission read of the certificates is in `admitted`: the decoded peer (a copy of OpenSSL's, in native memory) would live as long as the connection.
    state.peer = undefined
    return { ok: true, value: state.admitted }
  }

  /** The principal of an admitted connection now: organisation, trust, identity, and for MQTT the clientId's binding. */
  principal (admitted: Admitted, hint: OrgHint, stage: Stage, now = new Date()): Resolved<Principal> {
    const resolved = this.principalUnder(admitted, hint, stage, now)
    return resolved.ok ? { ok: true, value: resolved.value.principal } : resolved
  }

  /**
   * `principal`, then, when the CA the certificate chains to has `ca ocsp on`,
   * its responder's word on the certificate (ocsp/ocsp-checker.ts). What every
   * transport calls at each MQTT CONNECT and HTTPS request.
   */
  async principalChecked (admitted: Admitted, hint: OrgHint, stage: Stage, now = new Date()): Promise<Resolved<Principal>> {
    const resolved = this.principalUnder(admitted, hint, stage, now)
    if (!resolved.ok) return resolved
    const { principal, anchor } = resolved.value
    if (this.ocsp === undefined || !ocspCheckOf(anchor)) return { ok: true, value: principal }
    const issuer = issuerOf(principal.certificate.x509, anchor, principal.presentedChain)
    const verdict = await this.ocsp.check(principal.orgId, anchor, principal.certificate.x509, issuer, now)
    return verdict.ok ? { ok: true, value: principal } : refusal(verdict, stage, { orgId: principal.orgId, fingerprint: principal.fingerprint })
  }

  private principalUnder (admitted: Admitted, hint: OrgHint, stage: Stage, now: Date): Resolved<{ principal: Principal, anchor: CaRecord }> {
    const fingerprint = admitted.certificate.fingerprint
    const org = this.orgOf(admitted, hint)
    if (!org.ok) return refusal(org, stage, { fingerprint })
    const orgId = org.value
    const trusted = this.trustedIn(orgId, admitted.certificate, admitted.presentedChain, now)
    if (!trusted.ok) return refusal(trusted, stage, { orgId, fingerprint })
    const identity = identityFromCertificate(admitted.certificate)
    if (!identity.ok) return refusal(identity, stage, { orgId, fingerprint })
    if ('clientId' in hint && !clientIdBelongsTo(hint.clientId, identity.value, orgId)) {
      return refusal({ code: 'BROKER_ERR_CLIENTID_MISMATCH', reason: 'the clientId must be the certificate identity\'s: d:<org>:<type>:<id>, g:<org>:<type>:<id> or a:<org>:<app>[:<n>]' }, stage, { orgId, fingerprint })
    }
    const principal = { orgId, identity: identity.value, certificate: admitted.certificate, fingerprint, presentedChain: admitted.presentedChain }
    return { ok: true, value: { principal, anchor: trusted.value } }
  }

  /** Both steps at once, for a transport that decides per request (HTTPS). */
  resolve (socket: tls.TLSSocket, hint: OrgHint, stage: Stage = 'request', now = new Date()): Resolved<Principal> {
    const admitted = this.admit(socket)
    return admitted.ok ? this.principal(admitted.value, hint, stage, now) : admitted
  }

  /** `resolve` with the OCSP check of `principalChecked`. */
  async resolveChecked (socket: tls.TLSSocket, hint: OrgHint, stage: Stage = 'request', now = new Date()): Promise<Resolved<Principal>> {
    const admitted = this.admit(socket)
    return admitted.ok ? await this.principalChecked(admitted.value, hint, stage, now) : admitted
  }

  /**
   * The claim certificate on a connection, trusted in its organisation now
   * (the same trust check as any certificate's: chain, validity, revocation,
   * CRLs): what enrollment accepts, and it accepts nothing else. Claim
   * certificates come from the managed CA, which has no OCSP check to ask.
   */
  claimant (socket: tls.TLSSocket, hint: OrgHint, stage: Stage = 'request', now = new Date()): Resolved<Claimant> {
    const admitted = this.admit(socket)
    if (!admitted.ok) return admitted
    const fingerprint = admitted.value.certificate.fingerprint
    const org = this.orgOf(admitted.value, hint)
    if (!org.ok) return refusal(org, stage, { fingerprint })
    const trusted = this.trustedIn(org.value, admitted.value.certificate, admitted.value.presentedChain, now)
    if (!trusted.ok) return refusal(trusted, stage, { orgId: org.value, fingerprint })
    const claim = claimNameFromCertificate(admitted.value.certificate)
    if (!claim.ok) return refusal(claim, stage, { orgId: org.value, fingerprint })
    return { ok: true, value: { orgId: org.value, claimName: claim.value, fingerprint } }
  }

  /** Whether a live principal is still trusted in its organisation (after a revocation, a CRL, a disabled CA). */
  recheck (principal: Principal, now = new Date()): Resolved<true> {
    const trusted = this.trustedIn(principal.orgId, principal.certificate, principal.presentedChain, now)
    return trusted.ok ? { ok: true, value: true } : refusal(trusted, 'live', { orgId: principal.orgId, fingerprint: principal.fingerprint })
  }

  /**
   * Node 20 drops `allowPartialTrustChain` from a server's own context (the
   * one a client without SNI gets), so OpenSSL there cannot stop at an
   * uploaded intermediate and reports the issuer missing. For that case
   * only, the organisation's own chain walk (certificate-trust.ts, which
   * checks every signature up to an active CA of the default organisation)
   * decides instead; with SNI, OpenSSL's verdict stands.
   */
  private partialChainWithoutSni (sniOrg: string | undefined, socket: tls.TLSSocket, orgId: string | undefined, certificate: CertificateFacts, chain: () => readonly X509Certificate[]): boolean {
    if (sniOrg !== undefined || orgId === undefined) return false
    const code = (socket.authorizationError as NodeJS.ErrnoException | null | undefined)?.code ?? String(socket.authorizationError)
    if (!ISSUER_NOT_FOUND.some(name => code.includes(name))) return false
    return this.trustedIn(orgId, certificate, chain, new Date()).ok
  }

  private orgOf (admitted: Admitted, hint: OrgHint): Refusable<string> {
    if (admitted.orgId !== undefined) return { ok: true, value: admitted.orgId }
    if ('host' in hint) return this.contexts.orgForServername(hint.host.replace(/:\d+$/, ''))
    const orgId = orgOfClientId(hint.clientId)
    return orgId !== undefined
      ? { ok: true, value: orgId }
      : { ok: false, code: 'BROKER_ERR_CLIENTID_MISMATCH', reason: 'the clientId must name the organisation: d:<org>:<type>:<id>, g:<org>:<type>:<id> or a:<org>:<app>' }
  }

  private trustedIn (orgId: string, certificate: CertificateFacts, chain: () => readonly X509Certificate[], now: Date): Refusable<CaRecord> {
    const org = this.registry.get(orgId)
    if (org === undefined) return { ok: false, code: 'BROKER_ERR_CERT_UNTRUSTED', reason: `no organisation ${orgId}` }
    return checkCertificateTrust(certificate, chain, org, now, this.policy)
  }

  private inspect (peer: X509Certificate): CertificateFacts | undefined {
    let facts = this.facts.get(peer.fingerprint256)
    if (facts === undefined) {
      try {
        facts = inspectCertificate(peer.raw)
      } catch {
        return undefined
      }
      this.facts.set(peer.fingerprint256, facts)
    }
    return facts
  }
}

/**
 * The certificate that signed the leaf: the anchor itself, or the presented
 * intermediate between them (the OCSP CertID names the direct issuer, RFC 6960 4.1.1).
 */
function issuerOf (leaf: X509Certificate, anchor: CaRecord, presentedChain: () => readonly X509Certificate[]): X509Certificate | undefined {
  const candidates = [new X509Certificate(anchor.certPem), ...presentedChain()]
  return candidates.find(c => leaf.checkIssued(c) && leaf.verify(c.publicKey))
}

/** OpenSSL's verdicts when it found no issuer it may stop at (X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT[_LOCALLY]). */
const ISSUER_NOT_FOUND = ['UNABLE_TO_GET_ISSUER_CERT']

type Refusable<T> = { readonly ok: true, readonly value: T } | Pick<Refusal, 'code' | 'reason'> & { readonly ok: false }

function refusal (why: Pick<Refusal, 'code' | 'reason'>, stage: Stage, fields: Omit<Refusal, 'code' | 'reason' | 'stage'> = {}): { readonly ok: false } & Refusal {
  return { ok: false, code: why.code, reason: why.reason, stage, ...fields }
}
