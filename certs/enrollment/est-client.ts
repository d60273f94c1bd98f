import { X509Certificate } from 'node:crypto'
import { lookup } from 'node:dns'
import https from 'node:https'
import * as pkijs from 'pkijs'
import { csrPemFromEstBody } from './est-wire.js'

/**
 * The device side of EST (RFC 7030) for `mqgate enroll` and `mqgate renew`:
 * one POST of a base64 PKCS#10 to simpleenroll or simplereenroll, over TLS
 * that verifies the server, with a client certificate (a claim certificate,
 * or the certificate being renewed) or HTTP Basic with an enrollment token
 * (§3.2.3). The answer, base64 CMS certs-only (§4.1.3), is read with pkijs.
 */

export type EstClientErrorCode =
  /** The server answered with an error (its code and message are repeated). */
  | 'EST_ERR_REFUSED'
  /** No answer: connection, TLS or time limit. */
  | 'EST_ERR_UNREACHABLE'
  /** An answer that is not base64 certs-only with a certificate in it. */
  | 'EST_ERR_RESPONSE'

export class EstClientError extends Error {
  override readonly name = 'EstClientError'
  constructor (readonly code: EstClientErrorCode, message: string, readonly serverCode?: string, options?: ErrorOptions) {
    super(message, options)
  }
}

export interface EstEndpoint {
  /** `https://<org host>:<port>`, optionally with a path ending in /.well-known/est. */
  readonly url: string
  /** CA file contents that verify the server's certificate. */
  readonly caPem: string
  /** The TLS SNI name when the URL's host is an address (or another name). */
  readonly servername?: string
}

export type EstCredential =
  | { readonly kind: 'certificate', readonly certPem: string, readonly keyPem: string }
  | { readonly kind: 'token', readonly token: string }

/** The largest answer read: a certificate and its chain are a few KiB. */
const MAX_ANSWER_BYTES = 256 * 1024
const TIMEOUT_MS = 30_000

/** POSTs the CSR to `operation` and returns the certificates of the answer, leaf first as the server sent them. */
export async function estEnroll (endpoint: EstEndpoint, operation: 'simpleenroll' | 'simplereenroll', csrPem: string, credential: EstCredential): Promise<string[]> {
  const body = Buffer.from(base64Of(csrPem))
  const headers: Record<string, string> = { 'content-type': 'application/pkcs10', 'content-transfer-encoding': 'base64', 'content-length': String(body.length) }
  if (credential.kind === 'token') headers.authorization = `Basic ${Buffer.from(`device:${credential.token}`).toString('base64')}`
  const tlsIdentity = credential.kind === 'certificate' ? { cert: credential.certPem, key: credential.keyPem } : {}
  const answer = await post(operationUrl(endpoint.url, operation), body, headers, { ca: endpoint.caPem, servername: endpoint.servername, ...tlsIdentity })
  return certificatesOf(answer)
}

/** `<base>/.well-known/est/<operation>` (RFC 7030 3.2.2), whether the base names the path or not. */
export function operationUrl (base: string, operation: string): URL {
  const url = new URL(base)
  if (url.protocol !== 'https:') throw new EstClientError('EST_ERR_UNREACHABLE', `EST is HTTPS only (RFC 7030 3.3): ${url.protocol}`)
  const path = url.pathname.replace(/\/+$/, '')
  url.pathname = `${path.endsWith('/.well-known/est') ? path : `${path}/.well-known/est`}/${operation}`
  return url
}

async function post (url: URL, body: Buffer, headers: Record<string, string>, tlsOptions: https.RequestOptions): Promise<Buffer> {
  return await new Promise((resolve, reject) => {
    const request = https.request(url, { method: 'POST', headers, signal: AbortSignal.timeout(TIMEOUT_MS), lookup: loopbackForLocalhost, ...tlsOptions }, response => {
      const chunks: Buffer[] = []
      let size = 0
      response.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > MAX_ANSWER_BYTES) response.destroy(new EstClientError('EST_ERR_RESPONSE', `the answer is larger than ${MAX_ANSWER_BYTES} bytes`))
        else chunks.push(chunk)
      })
      response.on('error', reject)
      response.on('end', () => {
        const text = Buffer.concat(chunks)
        if (response.statusCode === 200) resolve(text)
        else reject(refusalOf(response.statusCode ?? 0, text))
      })
    })
    request.on('error', err => reject(err instanceof EstClientError ? err : new EstClientError('EST_ERR_UNREACHABLE', `no answer from ${url.origin}: ${err.message}`, undefined, { cause: err })))
    request.end(body)
  })
}

/**
 * `*.localhost` is the loopback (RFC 6761 6.3), as curl and browsers resolve
 * it, so the README's `https://demo.messaging.localhost:8443` works as pasted
 * on the gateway's own machine; any other name goes to the system resolver.
 */
const loopbackForLocalhost: typeof lookup = ((hostname: string, options: any, callback: any) => {
  if (hostname === 'localhost' || hostname.endsWith('.localhost')) {
    if (options?.all === true) callback(null, [{ address: '127.0.0.1', family: 4 }])
    else callback(null, '127.0.0.1', 4)
    return
  }
  lookup(hostname, options, callback)
}) as typeof lookup

/** The server's JSON error body (`{"error": {"code", "message"}}` or `{"code", "message"}`) as an error. */
function refusalOf (status: number, body: Buffer): EstClientError {
  let code: string | undefined
  let message = body.toString('utf8').slice(0, 300)
  try {
    const parsed = JSON.parse(body.toString('utf8'))
    const error = parsed.error ?? parsed
    if (typeof error.code === 'string') code = error.code
    if (typeof error.message === 'string') message = error.message
  } catch {}
  return new EstClientError('EST_ERR_REFUSED', `HTTP ${status}${code === undefined ? '' : ` ${code}`}: ${message}`, code)
}

/** The certificates in a base64 certs-only answer, as PEM. */
export function certificatesOf (answer: Buffer): string[] {
  let certificates: pkijs.SignedData['certificates']
  try {
    const der = Buffer.from(answer.toString('latin1').replace(/\s+/g, ''), 'base64')
    const content = pkijs.ContentInfo.fromBER(der)
    certificates = new pkijs.SignedData({ schema: content.content }).certificates
  } catch (err) {
    throw new EstClientError('EST_ERR_RESPONSE', 'the answer is not a base64 PKCS#7 certs-only structure (RFC 7030 4.1.3)', undefined, { cause: err })
  }
  const pems = (certificates ?? []).filter(c => c instanceof pkijs.Certificate)
    .map(c => new X509Certificate(Buffer.from(c.toSchema().toBER(false))).toString())
  if (pems.length === 0) throw new EstClientError('EST_ERR_RESPONSE', 'the answer holds no certificate')
  return pems
}

function base64Of (csrPem: string): string {
  // The same decoding the server applies; it refuses what is not one DER request.
  return csrPemFromEstBody(csrPem).replace(/-----(BEGIN|END) CERTIFICATE REQUEST-----/g, '').replace(/\s+/g, '')
}
