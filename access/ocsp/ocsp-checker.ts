import type { X509Certificate } from 'node:crypto'
import type { Logger } from 'pino'
import { crlPolicyOf, normalizeSerial, type CaRecord } from '../../certs/index.js'
import { allowed, refused, type Checked } from '../errors.js'
import { SingleFlightCache } from './ocsp-cache.js'
import { DEFAULT_FETCH_BOUNDS, postOcspRequest, type OcspFetchBounds } from './ocsp-fetch.js'
import { buildOcspRequest, ocspUrlOf, pkijsCertificate } from './ocsp-request.js'
import { readOcspResponse } from './ocsp-response.js'

/** What one check found: the responder's word, or why there was none. */
export type OcspOutcome = 'good' | 'revoked' | 'unknown' | 'failed' | 'no-url'

/** One check, for the metric (mqgate_ocsp_check_total): `cached` when no request was sent for it. */
export interface OcspCheckEvent {
  readonly orgId: string
  readonly caId: string
  readonly outcome: OcspOutcome
  readonly cached: boolean
}

export interface OcspCheckerOptions {
  /** Each field defaults to DEFAULT_FETCH_BOUNDS' (3 s, 64 KiB, anywhere). */
  readonly bounds?: Partial<OcspFetchBounds>
  /** How long an answer without nextUpdate is kept (5 min by default). */
  readonly defaultTtlMs?: number
  /** How long a failure is kept, so a dead responder is not asked at every CONNECT (5 s by default). */
  readonly failureTtlMs?: number
  readonly onCheck?: (event: OcspCheckEvent) => void
  readonly log?: Logger
}

interface Verdict {
  readonly outcome: OcspOutcome
  readonly reason: string
  readonly expiresAt: number
}

/**
 * The per-CA OCSP check (`ca ocsp on`, RFC 6960): asks the responder a device
 * certificate names whether it is still good. The responder's `revoked`
 * refuses like a CRL entry; `unknown` (2.2: it does not know the
 * certificate) refuses as well, since it is not a `good`. When no usable
 * answer comes (no URL in the certificate, unreachable, slow, oversized,
 * malformed, wrongly signed, stale), the CA's CRL policy decides: `closed`
 * refuses, `open` (the default) admits and logs a warning.
 */
export class OcspChecker {
  private readonly cache = new SingleFlightCache<Verdict>()
  private readonly bounds: OcspFetchBounds
  private readonly defaultTtlMs: number
  private readonly failureTtlMs: number

  constructor (private readonly options: OcspCheckerOptions = {}) {
    this.bounds = { ...DEFAULT_FETCH_BOUNDS, ...options.bounds }
    this.defaultTtlMs = options.defaultTtlMs ?? 5 * 60_000
    this.failureTtlMs = options.failureTtlMs ?? 5_000
  }

  /**
   * The check of `leaf`, which `issuer` signed, under the organisation's CA
   * `ca` (the anchor its chain reached). Without the issuer no request can be
   * made (the CertID hashes its name and key): that is no answer.
   */
  async check (orgId: string, ca: CaRecord, leaf: X509Certificate, issuer: X509Certificate | undefined, now = new Date()): Promise<Checked<true>> {
    const key = `${issuer?.fingerprint256 ?? 'no-issuer'}/${normalizeSerial(leaf.serialNumber)}`
    const { value, cached } = await this.cache.get(key, now.getTime(), async () => await this.ask(leaf, issuer, now))
    this.options.onCheck?.({ orgId, caId: ca.id, outcome: value.outcome, cached })
    switch (value.outcome) {
      case 'good': return allowed(true)
      case 'revoked': return refused('BROKER_ERR_CERT_REVOKED', `the CA's OCSP responder reports the certificate revoked (${value.reason})`)
      case 'unknown': return refused('BROKER_ERR_OCSP_UNKNOWN', 'the CA\'s OCSP responder does not know the certificate')
    }
    if (crlPolicyOf(ca) === 'closed') {
      return refused('BROKER_ERR_OCSP_UNAVAILABLE', `no OCSP answer (${value.reason}) and CA ${ca.id}'s policy is closed`)
    }
    this.options.log?.warn({ event: 'ocsp.unavailable', orgId, caId: ca.id, serial: leaf.serialNumber, outcome: value.outcome, reason: value.reason, cached }, 'no OCSP answer; admitted under the CA\'s open policy')
    return allowed(true)
  }

  /** One exchange with the responder; never throws: a failure is a verdict, kept briefly. */
  private async ask (leaf: X509Certificate, issuer: X509Certificate | undefined, now: Date): Promise<Verdict> {
    const failed = (outcome: OcspOutcome, reason: string): Verdict => ({ outcome, reason, expiresAt: now.getTime() + this.failureTtlMs })
    if (issuer === undefined) return failed('failed', 'the certificate\'s issuer is not at hand to name it in a request')
    try {
      const certificate = pkijsCertificate(leaf.raw)
      const url = ocspUrlOf(certificate)
      if (url === undefined) return failed('no-url', 'the certificate names no OCSP responder (AIA id-ad-ocsp)')
      const issuerCertificate = pkijsCertificate(issuer.raw)
      const request = await buildOcspRequest(certificate, issuerCertificate)
      const answer = await readOcspResponse(await postOcspRequest(url, request.der, this.bounds), request, issuerCertificate, new Date())
      const expiresAt = answer.nextUpdate?.getTime() ?? Date.now() + this.defaultTtlMs
      const reason = answer.revokedAt === undefined ? answer.status : `revoked at ${answer.revokedAt.toISOString()}`
      return { outcome: answer.status, reason, expiresAt }
    } catch (err) {
      return failed('failed', (err as Error).message)
    }
  }
}
