import type { LookupAddress } from 'node:dns'
import { lookup } from 'node:dns/promises'
import http, { type IncomingMessage } from 'node:http'
import https from 'node:https'
import { isIP } from 'node:net'
import { CertsError, type CertsErrorCode } from '../errors.js'
import type { FetchAllowList } from './fetch-allow.js'

/** How far one CRL fetch may go. A distribution point URL is whatever the certificate's maker wrote. */
export interface CrlFetchLimits {
  /** The largest answer read; a bigger one is refused (CERTS_ERR_CRL_FETCH_TOO_LARGE). */
  readonly maxBytes: number
  /** For the whole fetch, redirects and DNS included (CERTS_ERR_CRL_FETCH_TIMEOUT). */
  readonly timeoutMs: number
  readonly maxRedirects: number
  /** MQGATE_CRL_FETCH_ALLOW: when set, only these hosts and addresses are reached. */
  readonly allow?: FetchAllowList
}

export const DEFAULT_CRL_FETCH_LIMITS: CrlFetchLimits = Object.freeze({ maxBytes: 10 * 1024 * 1024, timeoutMs: 10_000, maxRedirects: 3 })

const REDIRECTS = new Set([301, 302, 303, 307, 308])

/**
 * GET of a CRL over http: or https: only, redirects followed by hand so that
 * each hop's scheme and address are checked again. The host name is resolved
 * here, checked against the allow-list, and the connection made to that very
 * address (a second resolution by the HTTP client could answer otherwise:
 * DNS rebinding).
 */
export async function fetchCrlBytes (url: string, limits: CrlFetchLimits = DEFAULT_CRL_FETCH_LIMITS, cancel?: AbortSignal): Promise<Buffer> {
  const abort = new AbortController()
  const timer = setTimeout(() => abort.abort(), limits.timeoutMs)
  const cancelled = (): void => abort.abort()
  cancel?.addEventListener('abort', cancelled, { once: true })
  try {
    let target = httpUrl(url)
    for (let redirects = 0; ; redirects++) {
      const answer = await getOnce(target, limits, abort.signal)
      if (Buffer.isBuffer(answer)) return answer
      if (redirects >= limits.maxRedirects) throw fetchError('CERTS_ERR_CRL_FETCH_REDIRECTS', `more than ${limits.maxRedirects} redirects`)
      target = httpUrl(answer.location, target)
    }
  } catch (err) {
    if (cancel?.aborted === true) throw fetchError('CERTS_ERR_CRL_FETCH_FAILED', 'cancelled', err)
    if (abort.signal.aborted) throw fetchError('CERTS_ERR_CRL_FETCH_TIMEOUT', `no complete answer within ${limits.timeoutMs} ms`)
    throw err
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
    throw fetchError('CERTS_ERR_CRL_FETCH_FAILED', 'not a URL', err)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw fetchError('CERTS_ERR_CRL_FETCH_SCHEME', `${url.protocol} is not http: or https:`)
  return url
}

async function getOnce (url: URL, limits: CrlFetchLimits, signal: AbortSignal): Promise<Buffer | { location: string }> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  const target = await addressFor(host, limits.allow, signal)
  return await new Promise((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http
    const request = client.request({
      protocol: url.protocol,
      host,
      port: url.port === '' ? undefined : Number(url.port),
      path: url.pathname + url.search,
      method: 'GET',
      headers: { accept: 'application/pkix-crl, */*;q=0.1', 'user-agent': 'mqgate-crl-fetch' },
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
        resolve({ location })
        return
      }
      if (status !== 200) {
        response.resume()
        reject(fetchError('CERTS_ERR_CRL_FETCH_STATUS', `HTTP ${status}`))
        return
      }
      readBounded(response, limits.maxBytes).then(resolve, err => { request.destroy(); reject(err) })
    })
    request.on('error', err => reject(err instanceof CertsError ? err : fetchError('CERTS_ERR_CRL_FETCH_FAILED', err.message, err)))
    request.end()
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
      throw fetchError('CERTS_ERR_CRL_FETCH_FAILED', `${host} does not resolve`, err)
    }
  }
  const usable = allow === undefined || allow.allowsName(host) ? candidates : candidates.filter(c => allow.allowsAddress(c.address))
  if (usable.length === 0) throw fetchError('CERTS_ERR_CRL_FETCH_NOT_ALLOWED', `${host} (${candidates.map(c => c.address).join(', ')}) is outside MQGATE_CRL_FETCH_ALLOW`)
  return usable[0]
}

async function readBounded (response: IncomingMessage, maxBytes: number): Promise<Buffer> {
  if (Number(response.headers['content-length'] ?? 0) > maxBytes) throw fetchError('CERTS_ERR_CRL_FETCH_TOO_LARGE', `the answer is larger than ${maxBytes} bytes`)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of response) {
    size += (chunk as Buffer).length
    if (size > maxBytes) throw fetchError('CERTS_ERR_CRL_FETCH_TOO_LARGE', `the answer is larger than ${maxBytes} bytes`)
    chunks.push(chunk as Buffer)
  }
  if (!response.complete) throw fetchError('CERTS_ERR_CRL_FETCH_FAILED', 'the answer was cut short')
  return Buffer.concat(chunks)
}

async function aborted (signal: AbortSignal): Promise<never> {
  return await new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }))
}

function fetchError (code: CertsErrorCode, message: string, cause?: unknown): CertsError {
  return new CertsError(code, `CRL fetch: ${message}`, cause === undefined ? undefined : { cause })
}
