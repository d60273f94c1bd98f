import { CertsError, type CertsErrorCode } from '../errors.js'
import { boundedRequest, FetchError, type FetchFailure, type FetchLimits } from '../http-fetch/bounded-request.js'

/** How far one CRL fetch may go. A distribution point URL is whatever the certificate's maker wrote. */
export type CrlFetchLimits = FetchLimits

export const DEFAULT_CRL_FETCH_LIMITS: CrlFetchLimits = Object.freeze({ maxBytes: 10 * 1024 * 1024, timeoutMs: 10_000, maxRedirects: 3 })

const CODES: Readonly<Record<FetchFailure, CertsErrorCode>> = Object.freeze({
  scheme: 'CERTS_ERR_CRL_FETCH_SCHEME',
  'not-allowed': 'CERTS_ERR_CRL_FETCH_NOT_ALLOWED',
  redirects: 'CERTS_ERR_CRL_FETCH_REDIRECTS',
  'too-large': 'CERTS_ERR_CRL_FETCH_TOO_LARGE',
  timeout: 'CERTS_ERR_CRL_FETCH_TIMEOUT',
  status: 'CERTS_ERR_CRL_FETCH_STATUS',
  failed: 'CERTS_ERR_CRL_FETCH_FAILED'
})

/**
 * GET of a CRL within the limits (http-fetch/bounded-request.ts: schemes,
 * redirects, size, time, MQGATE_CRL_FETCH_ALLOW); a failure is a CertsError
 * with its CERTS_ERR_CRL_FETCH_* code.
 */
export async function fetchCrlBytes (url: string, limits: CrlFetchLimits = DEFAULT_CRL_FETCH_LIMITS, cancel?: AbortSignal): Promise<Buffer> {
  try {
    return await boundedRequest(url, { method: 'GET', headers: { accept: 'application/pkix-crl, */*;q=0.1', 'user-agent': 'mqgate-crl-fetch' } }, limits, cancel)
  } catch (err) {
    if (!(err instanceof FetchError)) throw err
    throw new CertsError(CODES[err.failure], `CRL fetch: ${err.message}`, { cause: err })
  }
}
