import http from 'node:http'
import https from 'node:https'

/** How far mqgate waits on an operator's responder: every CONNECT under an OCSP-checked CA may wait this long. */
export interface OcspFetchBounds {
  /** The whole exchange, connection to last byte (3 s by default). */
  readonly timeoutMs: number
  /** The largest response read (64 KiB by default: a signed answer for one certificate is a few KiB). */
  readonly maxBytes: number
}

export const DEFAULT_FETCH_BOUNDS: OcspFetchBounds = Object.freeze({ timeoutMs: 3000, maxBytes: 64 * 1024 })

/** Why the responder gave no usable bytes. */
export class OcspFetchError extends Error {
  override readonly name = 'OcspFetchError'
}

/**
 * POSTs a DER request (RFC 6960 A.1.1, application/ocsp-request) and reads
 * the answer within the bounds. A redirect is not followed: the URL is the
 * one the CA signed into the certificate.
 */
export async function postOcspRequest (url: string, der: Buffer, bounds: OcspFetchBounds = DEFAULT_FETCH_BOUNDS): Promise<Buffer> {
  const target = new URL(url)
  const client = target.protocol === 'https:' ? https : target.protocol === 'http:' ? http : undefined
  if (client === undefined) throw new OcspFetchError(`unsupported responder scheme ${target.protocol}`)
  return await new Promise<Buffer>((resolve, reject) => {
    const request = client.request(target, {
      method: 'POST',
      // One connection per exchange: no pooled socket to an operator's host outlives the check.
      agent: false,
      headers: { 'content-type': 'application/ocsp-request', accept: 'application/ocsp-response', 'content-length': der.length }
    })
    const fail = (why: string): void => { request.destroy(); reject(new OcspFetchError(why)) }
    const timer = setTimeout(() => fail(`no answer within ${bounds.timeoutMs} ms`), bounds.timeoutMs)
    request.once('close', () => clearTimeout(timer))
    request.once('error', err => { clearTimeout(timer); reject(new OcspFetchError(`responder unreachable: ${err.message}`)) })
    request.once('response', response => {
      if (response.statusCode !== 200) {
        response.resume()
        return fail(`responder answered HTTP ${response.statusCode ?? 0}`)
      }
      const declared = Number(response.headers['content-length'] ?? 0)
      if (declared > bounds.maxBytes) return fail(`response of ${declared} bytes, more than ${bounds.maxBytes}`)
      const chunks: Buffer[] = []
      let size = 0
      response.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > bounds.maxBytes) return fail(`response over ${bounds.maxBytes} bytes`)
        chunks.push(chunk)
      })
      response.once('end', () => { clearTimeout(timer); resolve(Buffer.concat(chunks)) })
      response.once('error', err => fail(`response broken: ${err.message}`))
    })
    request.end(der)
  })
}
