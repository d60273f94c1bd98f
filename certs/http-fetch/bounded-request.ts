import type { LookupAddress } from 'node:dns'
import { lookup } from 'node:dns/promises'
import http, { type IncomingMessage } from 'node:http'
import https from 'node:https'
import { isIP } from 'node:net'
import type { FetchAllowList } from './fetch-allow.js'

/**
 * One bounded HTTP exchange with a URL taken from a certificate (a CRL
 * distribution point, an OCSP responder in the AIA extension): whoever made
 * the certificate chose it, so the gateway must not be sent just anywhere,
 * nor held up, nor fed without end. Shared by the CRL fetcher
 * (certs/crl-fetch/) and the OCSP check (access/ocsp/); each maps the
 * failures to its own codes.
 */

export interface FetchLimits {
  /** The largest answer read; a bigger one is refused (`too-large`). */
  readonly maxBytes: number
  /** For the whole exchange, redirects and DNS included (`timeout`). */
  readonly timeoutMs: number
  /** 0: a redirect is a failure (`redirects`). */
  readonly maxRedirects: number
  /** MQGATE_CRL_FETCH_ALLOW: when set, only these hosts and addresses are reached (`not-allowed`). */
  readonly allow?: FetchAllowList
}

export interface FetchRequest {
  readonly method: 'GET' | 'POST'
  readonly headers: Readonly<Record<string, string>>
  readonly body?: Buffer
}

/** Why an exchange gave no answer: a closed set, which each caller names in its own codes. */
export type FetchFailure = 'scheme' | 'not-allowed' | 'redirects' | 'too-large' | 'timeout' | 'status' | 'failed'

export class FetchError extends Error {
  override readonly name = 'FetchError'
  constructor (readonly failure: FetchFailure, message: string, options?: ErrorOptions) {
    super(message, options)
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308])

/**
 * The body of a 200 answer, over http: or https: only, redirects followed by
 * hand so that each hop's scheme and address are checked again (303 goes on
 * with GET, RFC 9110 15.4.4; the others repeat the request). The host name is
 * resolved here, checked against the allow-list, and the connection made to
 * that very address (a second resolution by the HTTP client could answer
 * otherwise: DNS rebinding). Credentials in the URL are sent as Basic auth.
 */
export async function boundedRequest (url: string, request: FetchRequest, limits: FetchLimits, cancel?: AbortSignal): Promise<Buffer> {
  const abort = new AbortController()
  const timer = setTimeout(() => abort.abort(), limits.timeoutMs)
  const cancelled = (): void => abort.abort()
  cancel?.addEventListener('abort', cancelled, { once: true })
  try {
    let target = httpUrl(url)
    let current = request
    for (let redirects = 0; ; redirects++) {
      const answer = await exchangeOnce(target, current, limits, abort.signal)
      if (Buffer.isBuffer(answer)) return answer
      if (redirects >= limits.maxRedirects) throw new FetchError('redirects', limits.maxRedirects === 0 ? 'a redirect (none is followed)' : `more than ${limits.maxRedirects} redirects`)
      target = httpUrl(answer.location, target)
      if (answer.status === 303) current = { method: 'GET', headers: request.headers }
    }
  } catch (err) {
    if (cancel?.aborted === true) throw new FetchError('failed', 'cancelled', { cause: err })
    if (abort.signal.aborted) throw new FetchError('timeout', `no answer within ${limits.timeoutMs} ms`)
    throw err instanceof FetchError ? err : new FetchError('failed', (err as Error).message, { cause: err })
  } finally {
    clearTimeout(timer)
    cancel?.removeEventListener('abort', cancelled)
  }
}

function httpUrl (text: string, base?: URL): URL {
  let url: URL
  try {
    url = new URL(text, base)
  } catch (err) {
    throw new FetchError('failed', 'not a URL', { cause: err })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new FetchError('scheme', `${url.protocol} is not http: or https:`)
  return url
}

async function exchangeOnce (url: URL, request: FetchRequest, limits: FetchLimits, signal: AbortSignal): Promise<Buffer | { status: number, location: string }> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  const target = await addressFor(host, limits.allow, signal)
  return await new Promise((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http
    const outgoing = client.request({
      protocol: url.protocol,
      host,
      port: url.port === '' ? undefined : Number(url.port),
      path: url.pathname + url.search,
      method: request.method,
      headers: request.body === undefined ? request.headers : { ...request.headers, 'content-length': String(request.body.length) },
      ...(url.username === '' ? {} : { auth: `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` }),
      // One connection per exchange: no pooled socket to a certificate-named host outlives it.
      agent: false,
      signal,
      // Connect to the address checked above, whatever a new resolution would say.
      lookup: (_name: string, options: { all?: boolean }, callback: (...args: any[]) => void) => {
        if (options.all === true) callback(null, [target])
        else callback(null, target.address, target.family)
      }
    }, response => {
      const status = response.statusCode ?? 0
      const location = response.headers.location
      if (REDIRECTS.has(status) && location !== undefined) {
        response.resume()
        resolve({ status, location })
        return
      }
      if (status !== 200) {
        response.resume()
        reject(new FetchError('status', `HTTP ${status}`))
        return
      }
      readBounded(response, limits.maxBytes).then(resolve, err => { outgoing.destroy(); reject(err) })
    })
    outgoing.on('error', reject)
    outgoing.end(request.body)
  })
}

async function addressFor (host: string, allow: FetchAllowList | undefined, signal: AbortSignal): Promise<LookupAddress> {
  let candidates: LookupAddress[]
  if (isIP(host) !== 0) {
    candidates = [{ address: host, family: isIP(host) }]
  } else {
    try {
      candidates = await Promise.race([lookup(host, { all: true }), aborted(signal)])
    } catch (err) {
      throw new FetchError('failed', `${host} does not resolve`, { cause: err })
    }
  }
  const usable = allow === undefined || allow.allowsName(host) ? candidates : candidates.filter(c => allow.allowsAddress(c.address))
  if (usable.length === 0) throw new FetchError('not-allowed', `${host} (${candidates.map(c => c.address).join(', ')}) is outside MQGATE_CRL_FETCH_ALLOW`)
  return usable[0]
}

async function readBounded (response: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(response.headers['content-length'] ?? 0)
  if (declared > maxBytes) throw new FetchError('too-large', `the answer declares ${declared} bytes, more than ${maxBytes}`)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of response) {
    size += (chunk as Buffer).length
    if (size > maxBytes) throw new FetchError('too-large', `the answer runs over ${maxBytes} bytes`)
    chunks.push(chunk as Buffer)
  }
  if (!response.complete) throw new FetchError('failed', 'the answer was cut short')
  return Buffer.concat(chunks)
}

/** Rejects once the exchange is aborted, at once if it already is (the deadline may pass between two hops). */
async function aborted (signal: AbortSignal): Promise<never> {
  return await new Promise((_resolve, reject) => {
    if (signal.aborted) reject(new Error('aborted'))
    else signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true })
  })
}
