import { readCsrSubject, type CsrSubject } from '../csr-subject.js'
import type { IssuedState } from '../issuer.js'
import type { IssuedCertRecord } from '../records.js'
import type { Failure } from './http-errors.js'

/**
 * Cloudflare's API shapes for the `/client/v4` routes, so that the seed's
 * curl commands and Cloudflare's SDKs read mqgate's answers unchanged:
 * the v4 envelope and the API Shield client certificate object.
 */

export interface Envelope {
  readonly success: boolean
  /** Cloudflare writes numeric codes; mqgate's stable string codes go in their place. */
  readonly errors: ReadonlyArray<{ readonly code: string, readonly message: string }>
  readonly messages: readonly string[]
  readonly result: unknown
  readonly result_info?: ResultInfo
}

export interface ResultInfo {
  readonly page: number
  readonly per_page: number
  readonly count: number
  readonly total_count: number
  readonly total_pages: number
}

export function succeeded (result: unknown, resultInfo?: ResultInfo): Envelope {
  return { success: true, errors: [], messages: [], result, ...(resultInfo === undefined ? {} : { result_info: resultInfo }) }
}

export function failed (failure: Pick<Failure, 'code' | 'message'>): Envelope {
  return { success: false, errors: [{ code: failure.code, message: failure.message }], messages: [], result: null }
}

/**
 * Every field of Cloudflare's client certificate object. The subject fields
 * are the CSR's ("provided by the CSR"); serial_number is decimal, as
 * Cloudflare writes it; status is active, revoked or expired (revocation here
 * is immediate, so never pending_revocation).
 */
export function clientCertificateView (rec: IssuedCertRecord, state: IssuedState, caName: string): Record<string, unknown> {
  const subject = csrSubjectOf(rec)
  return {
    id: rec.id,
    certificate: rec.certPem,
    certificate_authority: { id: rec.caId, name: caName },
    common_name: rec.commonName,
    country: subject.country,
    csr: rec.csrPem ?? '',
    expires_on: rec.expiresOn,
    fingerprint_sha256: rec.fingerprint,
    issued_on: rec.issuedOn,
    location: subject.locality,
    organization: subject.organization,
    organizational_unit: subject.organizationalUnit,
    serial_number: BigInt('0x' + rec.serial.replaceAll(':', '')).toString(10),
    signature: rec.signatureAlgorithm,
    ski: rec.ski,
    state: subject.state,
    status: state,
    validity_days: rec.validityDays
  }
}

const NO_SUBJECT: CsrSubject = { commonName: '', organization: '', organizationalUnit: '', country: '', state: '', locality: '' }

/** A certificate recorded without a requester's CSR (one mqgate signed for itself) has no subject fields to report. */
function csrSubjectOf (rec: IssuedCertRecord): CsrSubject {
  if (typeof rec.csrPem !== 'string' || rec.csrPem === '') return NO_SUBJECT
  try {
    return readCsrSubject(rec.csrPem)
  } catch {
    return NO_SUBJECT
  }
}
