import { createHash, X509Certificate } from 'node:crypto'
import type { Logger } from 'pino'
import * as pkijs from 'pkijs'
import { isCertsError } from '../errors.js'
import type { OrgRegistry } from '../org-registry.js'
import { managedCaOf, normalizeSerial, type OrgState } from '../records.js'
import { IssuedSerials } from './issued-serials.js'
import { certIdFor, issuerIdentityOf, namesIssuer } from './issuer-match.js'
import { parseOcspRequest, requestedCert, type OcspRequestFacts, type RequestedCert } from './ocsp-request.js'
import { errorResponse, OCSP_STATUS, signedResponse, type CertStatus } from './ocsp-response.js'
import { OcspSigners } from './ocsp-signers.js'

/**
 * The OCSP responder of the organisations' managed CAs (RFC 6960): for a
 * certificate the CA issued, `good`, or `revoked` with the time of `cert
 * revoke`; `unknown` for a serial it did not issue or a CertID naming another
 * CA (4.2.1: the responder does not know). Signed by the CA's delegated signer.
 *
 * Responses are valid for an hour (nextUpdate). One without a nonce is kept
 * and served again until half of that has passed or the organisation changes
 * in the registry (a revocation, from this process or another, replaces the
 * organisation's state), so that a revocation shows in the next response.
 */

const VALIDITY_MS = 60 * 60 * 1000
const CACHE_ENTRIES = 10_000
/** No mqgate certificate carries a reason: revocations record none, and RFC 5280 5.3.1 lets the reason be absent. */
const NO_REASON = undefined

/** A server certificate as stapling sees it, for one registry state of its organisation. */
interface StapleTarget {
  readonly orgId: string
  readonly state: OrgState
  /** Absent: not the managed CA's certificate, nothing to staple. */
  readonly request?: OcspRequestFacts
}

interface Cached {
  readonly state: OrgState
  readonly der: Buffer
  readonly freshUntil: number
}

export interface OcspResponderOptions {
  readonly log: Logger
  /** How long a response is valid (nextUpdate - thisUpdate); an hour by default. */
  readonly validityMs?: number
}

export class OcspResponder {
  private readonly signers: OcspSigners
  private readonly serials: IssuedSerials
  private readonly cache = new Map<string, Cached>()
  private readonly stapled = new Map<string, StapleTarget>()
  private readonly log: Logger
  private readonly validityMs: number

  constructor (private readonly registry: OrgRegistry, options: OcspResponderOptions) {
    this.log = options.log.child({ component: 'ocsp' })
    this.signers = new OcspSigners(registry, this.log)
    this.serials = new IssuedSerials(registry)
    this.validityMs = options.validityMs ?? VALIDITY_MS
  }

  /** The OCSPResponse (DER) to a request for an organisation's managed CA; the organisation must exist. */
  async respond (orgId: string, requestDer: Buffer): Promise<Buffer> {
    let facts: OcspRequestFacts
    try {
      facts = parseOcspRequest(requestDer)
    } catch (err) {
      if (!isCertsError(err, 'CERTS_ERR_OCSP_MALFORMED')) throw err
      this.log.debug({ event: 'ocsp.malformed', orgId, code: err.code, reason: err.message }, 'malformed OCSP request')
      return errorResponse(OCSP_STATUS.malformedRequest)
    }
    try {
      return await this.answer(orgId, facts)
    } catch (err) {
      this.log.error({ event: 'ocsp.failed', orgId, err }, 'an OCSP response could not be made')
      return errorResponse(OCSP_STATUS.internalError)
    }
  }

  /**
   * The response a TLS server staples for its own certificate (RFC 6066 8):
   * made here, no request over HTTP, when an organisation's managed CA
   * issued that certificate; undefined otherwise, or if it cannot be made.
   * Called at each handshake that asks: which organisation's certificate it
   * is, and its CertID, are worked out once per registry state.
   */
  async staple (certDer: Buffer): Promise<Buffer | undefined> {
    try {
      const fingerprint = createHash('sha256').update(certDer).digest('hex')
      let target = this.stapled.get(fingerprint)
      if (target === undefined || this.registry.get(target.orgId) !== target.state) {
        target = this.stapleTarget(certDer, fingerprint)
        if (target === undefined) return undefined
        if (this.stapled.size >= CACHE_ENTRIES) this.stapled.clear()
        this.stapled.set(fingerprint, target)
      }
      return target.request === undefined ? undefined : await this.answer(target.orgId, target.request)
    } catch (err) {
      this.log.warn({ event: 'ocsp.staple-failed', err }, 'no OCSP response to staple')
      return undefined
    }
  }

  /** The organisation whose server certificate this is, and the request to answer if its managed CA issued it. */
  private stapleTarget (certDer: Buffer, fingerprint: string): StapleTarget | undefined {
    const state = this.registry.list().find(s => s.serverCerts.some(c => c.fingerprint === fingerprint))
    if (state === undefined) return undefined
    const ca = managedCaOf(state)
    const cert = new X509Certificate(certDer)
    const caCert = new X509Certificate(ca.certPem)
    // An uploaded server certificate (a public CA's) is not the managed CA's to answer for.
    if (!cert.checkIssued(caCert) || !cert.verify(caCert.publicKey)) return { orgId: state.org.id, state }
    const certId = certIdFor(pkijs.Certificate.fromBER(certDer).serialNumber, issuerIdentityOf(ca.certPem))
    return { orgId: state.org.id, state, request: { certs: [requestedCert(certId)] } }
  }

  private async answer (orgId: string, facts: OcspRequestFacts): Promise<Buffer> {
    const state = this.registry.require(orgId)
    const now = Date.now()
    const key = facts.nonce === undefined && facts.certs.length === 1 ? `${orgId}:${Buffer.from(facts.certs[0].certId.toSchema().toBER()).toString('hex')}` : undefined
    const cached = key === undefined ? undefined : this.cache.get(key)
    if (cached !== undefined && cached.state === state && now < cached.freshUntil) return cached.der
    const statuses = []
    for (const requested of facts.certs) statuses.push({ certId: requested.certId, status: await this.statusOf(orgId, state, requested) })
    const signer = await this.signers.current(orgId)
    const nextUpdate = Math.min(now + this.validityMs, signer.notAfter.getTime())
    const der = await signedResponse(statuses, signer, { producedAt: new Date(now), thisUpdate: new Date(now), nextUpdate: new Date(nextUpdate) }, facts.nonce)
    if (key !== undefined) this.remember(key, { state, der, freshUntil: now + (nextUpdate - now) / 2 })
    return der
  }

  private async statusOf (orgId: string, state: OrgState, requested: RequestedCert): Promise<CertStatus> {
    if (!namesIssuer(requested, issuerIdentityOf(managedCaOf(state).certPem))) return { kind: 'unknown' }
    const revocation = state.revocations.find(r => normalizeSerial(r.serial) === requested.serial)
    if (revocation !== undefined) return { kind: 'revoked', revokedAt: new Date(revocation.revokedAt), reason: NO_REASON }
    return await this.serials.has(orgId, requested.serial) ? { kind: 'good' } : { kind: 'unknown' }
  }

  private remember (key: string, entry: Cached): void {
    if (this.cache.size >= CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value as string)
    this.cache.set(key, entry)
  }
}
