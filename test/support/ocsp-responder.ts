import { spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import type { ChainCa, ChainLeaf } from './openssl-chain.js'

/**
 * An operator's own OCSP responder, as `openssl ocsp -index ... -port` runs
 * one: the CA database (index.txt) says which serials are valid (V) or
 * revoked (R); a serial it does not list is answered `unknown`.
 */

/** The authorityInfoAccess line a device certificate names its responder with (RFC 5280 4.2.2.1). */
export const aiaOcsp = (url: string): string => `authorityInfoAccess=OCSP;URI:${url}\n`

/** Writes the CA database `openssl ocsp -index` reads. */
export function writeOcspIndex (ca: ChainCa, entries: ReadonlyArray<{ leaf: ChainLeaf, status: 'V' | 'R' }>): string {
  const stamp = (d: Date): string => d.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z'
  const now = new Date()
  const later = new Date(now.getTime() + 30 * 24 * 3600 * 1000)
  const padded = (s: string): string => (s.length % 2 === 0 ? s : '0' + s).toUpperCase()
  const index = path.join(ca.dir, 'index.txt')
  writeFileSync(index, entries.map(e => `${e.status}\t${stamp(later)}\t${e.status === 'R' ? stamp(new Date(now.getTime() - 60_000)) : ''}\t${padded(e.leaf.serial)}\tunknown\t/CN=device\n`).join(''))
  writeFileSync(`${index}.attr`, 'unique_subject = no\n')
  return index
}

export interface RunningResponder {
  readonly port: number
  stop (): Promise<void>
}

/**
 * `openssl ocsp` serving on `port` (OpenSSL 3.0 takes no address: all interfaces), signing with `signer` (the CA
 * itself or a delegated responder); `-nmin 1` puts a nextUpdate one minute
 * ahead in each answer. Resolves once it accepts connections.
 */
export async function startOpensslResponder (options: { ca: ChainCa, index: string, signer: { certFile: string, keyFile: string }, port: number }): Promise<RunningResponder> {
  const child = spawn('openssl', ['ocsp', '-index', options.index, '-port', String(options.port), '-CA', options.ca.certFile,
    '-rsigner', options.signer.certFile, '-rkey', options.signer.keyFile, '-nmin', '1', '-ignore_err'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout?.setEncoding('utf8').on('data', chunk => { output += chunk })
  child.stderr?.setEncoding('utf8').on('data', chunk => { output += chunk })
  await untilListening(options.port, child, () => output)
  return { port: options.port, stop: async () => await stopChild(child) }
}

/**
 * Waits for its "waiting for OCSP client connections" line. Not by
 * connecting to the port: openssl ocsp serves one connection at a time and
 * stays blocked on a probe that sent nothing.
 */
async function untilListening (port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`openssl ocsp exited: ${output()}`)
    if (output().includes('waiting for OCSP client connections')) return
    if (Date.now() > deadline) throw new Error(`openssl ocsp not listening on ${port}: ${output()}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

async function stopChild (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  await exited
}

/** A plain HTTP server on 127.0.0.1 that answers with `handle`, counting requests; for responders that misbehave. */
export async function startHttpResponder (handle: http.RequestListener): Promise<{ readonly port: number, readonly requests: () => number, close: () => Promise<void> }> {
  let count = 0
  const server = http.createServer((request, response) => { count++; handle(request, response) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    requests: () => count,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }
}

/** Forwards each request's body to the responder on `port` and its answer back: counts what reaches a real responder. */
export function forwardTo (port: number): http.RequestListener {
  return (request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.once('end', () => {
      // openssl ocsp reads a Content-Length body, not a chunked one.
      const body = Buffer.concat(chunks)
      const upstream = http.request({ host: '127.0.0.1', port, method: 'POST', path: request.url, headers: { 'content-type': 'application/ocsp-request', 'content-length': body.length }, agent: false }, answer => {
        response.writeHead(answer.statusCode ?? 502, { 'content-type': 'application/ocsp-response' })
        answer.pipe(response)
      })
      upstream.once('error', () => response.destroy())
      upstream.end(body)
    })
  }
}
