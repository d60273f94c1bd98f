import { boundedRequest, type FetchAllowList } from '../../certs/index.js'

/** How far mqgate waits on an operator's responder: every CONNECT under an OCSP-checked CA may wait this long. */
export interface OcspFetchBounds {
  /** The whole exchange, connection to last byte (3 s by default). */
  readonly timeoutMs: number
  /** The largest response read (64 KiB by default: a signed answer for one certificate is a few KiB). */
  readonly maxBytes: number
  /**
   * MQGATE_CRL_FETCH_ALLOW: the responder's URL comes from the device
   * certificate's AIA extension, written by whoever made it, as a CRL
   * distribution point is; the same list bounds both.
   */
  readonly allow?: FetchAllowList
}

export const DEFAULT_FETCH_BOUNDS: OcspFetchBounds = Object.freeze({ timeoutMs: 3000, maxBytes: 64 * 1024 })

/**
 * POSTs a DER request (RFC 6960 A.1.1, application/ocsp-request) and reads
 * the answer within the bounds (certs' bounded request: http(s) only, the
 * allow-list checked against the address connected to). A redirect is not
 * followed: the URL is the one the CA signed into the certificate. A failure
 * throws; its message is the reason logged.
 */
export async function postOcspRequest (url: string, der: Buffer, bounds: OcspFetchBounds = DEFAULT_FETCH_BOUNDS): Promise<Buffer> {
  return await boundedRequest(url, {
    method: 'POST',
    headers: { 'content-type': 'application/ocsp-request', accept: 'application/ocsp-response', 'user-agent': 'mqgate-ocsp' },
    body: der
  }, { ...bounds, maxRedirects: 0 })
}
