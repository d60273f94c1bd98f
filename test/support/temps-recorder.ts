import { writeFileSync } from 'node:fs'
import https from 'node:https'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { mintCa, mintProfiled } from './pki.js'
import { makeTempDir } from './temp-dir.js'

export interface RecordedPost {
  readonly path: string
  readonly headers: Record<string, string | string[] | undefined>
  readonly body: any
  /** The CN of the verified client certificate. */
  readonly clientCn: string | undefined
  /** The client certificate's key type (rsa, ec, ...). */
  readonly clientKeyType: string | undefined
}

/**
 * A stand-in for an organisation's existing temps API (the seed): HTTPS that
 * requires a client certificate from `clientCaPem`, records every POST, answers
 * 201, and can be stopped and restarted on the same port or told to answer
 * something else.
 */
export interface TempsRecorder {
  readonly port: number
  readonly url: string
  /** The CA of its server certificate, and a file holding it (MQGATE_TEMPS_CA_FILE), removed at close. */
  readonly caPem: string
  readonly caFile: string
  readonly posts: RecordedPost[]
  answerWith (status: number): void
  /** Answers `pick(body)` to the POSTs it returns a status for (0: never answers), the usual status to the others. */
  answerFor (pick: ((body: any) => number | undefined) | undefined): void
  /** Trusts client certificates of another CA from now on (restarts on the same port). */
  trust (clientCaPem: string): Promise<void>
  stop (): Promise<void>
  restart (): Promise<void>
  close (): Promise<void>
}

export async function startTempsRecorder (clientCaPem: string, port = 0): Promise<TempsRecorder> {
  let trusted = clientCaPem
  let pick: ((body: any) => number | undefined) | undefined
  const ca = mintCa('Recorder CA')
  const server = mintProfiled(ca, 'server', ['localhost'])
  const posts: RecordedPost[] = []
  let status = 201
  const make = (): https.Server => https.createServer({ key: server.keyPem, cert: server.certPem, ca: trusted, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', chunk => chunks.push(chunk))
    req.on('end', () => {
      const peer = (req.socket as TLSSocket).getPeerCertificate()
      let body: unknown
      try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')) } catch { body = Buffer.concat(chunks).toString('utf8') }
      const answer = pick?.(body) ?? status
      if (answer === 0) return
      if (answer >= 200 && answer < 300) posts.push({ path: req.url ?? '', headers: req.headers, body, clientCn: typeof peer?.subject?.CN === 'string' ? peer.subject.CN : undefined, clientKeyType: (req.socket as TLSSocket).getPeerX509Certificate()?.publicKey.asymmetricKeyType })
      res.writeHead(answer, { 'content-type': 'application/json' })
      res.end(JSON.stringify(answer < 300 ? { ok: true } : { error: 'told to fail' }))
    })
  })
  let current: https.Server | undefined = make()
  const listen = async (s: https.Server, p: number): Promise<number> => await new Promise((resolve, reject) => {
    s.once('error', reject)
    s.listen(p, '127.0.0.1', () => resolve((s.address() as AddressInfo).port))
  })
  const boundPort = await listen(current, port)
  const temp = await makeTempDir('temps-recorder')
  const caFile = path.join(temp.dir, 'recorder-ca.pem')
  writeFileSync(caFile, ca.certPem)
  const stopServer = async (): Promise<void> => {
    const s = current
    current = undefined
    if (s === undefined) return
    s.closeAllConnections()
    await new Promise<void>(resolve => s.close(() => resolve()))
  }
  return {
    port: boundPort,
    url: `https://localhost:${boundPort}/temps`,
    caPem: ca.certPem,
    caFile,
    posts,
    answerWith: s => { status = s },
    answerFor: p => { pick = p },
    async trust (pem) {
      trusted = pem
      await stopServer()
      current = make()
      await listen(current, boundPort)
    },
    stop: stopServer,
    async restart () {
      await stopServer()
      current = make()
      await listen(current, boundPort)
    },
    async close () {
      await stopServer()
      await temp.remove()
    }
  }
}
