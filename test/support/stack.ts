import https from 'node:https'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { generateKeyPair, managedCaOf } from '../../certs/index.js'
import { runStart, type RunningProcess } from '../../cli/processes.js'
import { TEST_KEK } from './kek.js'
import { createLogSink, type LogSink } from './log-sink.js'
import { managedCaKeyOf, mintProfiled, type TestCert } from './pki.js'
import { makeTempDir } from './temp-dir.js'

export const ADMIN_TOKEN = 'test-admin-token'

export interface TestStack {
  readonly running: RunningProcess
  readonly logs: LogSink
  readonly dataDir: string
  readonly mqttPort: number
  readonly apiPort: number
  readonly adminPort: number
  /** The demo organisation's CA (what clients trust for server certificates). */
  readonly caPem: string
  /** A client certificate of the demo organisation (one shared key: keys are slow to make). */
  issue (commonName: string): TestCert
  /** A file in the stack's temp dir, for env variables that take paths. */
  writeFile (name: string, content: string): string
  close (): Promise<void>
}

let sharedKeys: { publicKeyPem: string, privateKeyPem: string } | undefined

/**
 * `mqgate start` as the entry runs it (runStart with an environment), on free
 * ports and a temp data dir, logging into a sink: the real wiring of broker,
 * admin API, temps API and bridge, in memory or on `REDIS_URL`.
 */
export async function startTestStack (env: Record<string, string> = {}, dataDir?: string): Promise<TestStack> {
  const temp = dataDir === undefined ? await makeTempDir('stack') : undefined
  const dir = dataDir ?? (temp as { dir: string }).dir
  const logs = createLogSink()
  const running = await runStart({
    MQGATE_DATA_DIR: dir,
    MQGATE_MQTT_PORT: '0',
    MQGATE_ADMIN_PORT: '0',
    MQGATE_WS_PORT: '0',
    MQGATE_PKI_HTTP_PORT: '0',
    MQGATE_API_PORT: '0',
    MQGATE_BRIDGE_NAME: 'test-bridge',
    MQGATE_KEK: TEST_KEK,
    ...env
  }, { adminToken: ADMIN_TOKEN, logger: logs.logger }, () => {})
  const demoCa = managedCaKeyOf(running.registry, 'demo')
  return {
    running,
    logs,
    dataDir: dir,
    mqttPort: running.ports.mqtt as number,
    apiPort: running.ports.api as number,
    adminPort: running.ports.admin as number,
    caPem: managedCaOf(running.registry.require('demo')).certPem,
    issue (commonName) {
      sharedKeys ??= generateKeyPair()
      return mintProfiled(demoCa, 'client', [commonName], { publicKeyPem: sharedKeys.publicKeyPem, keyPem: sharedKeys.privateKeyPem })
    },
    writeFile (name, content) {
      const file = path.join(dir, name)
      writeFileSync(file, content)
      return file
    },
    async close () {
      await running.close()
      await temp?.remove()
    }
  }
}

export interface HttpAnswer {
  readonly status: number
  readonly body: any
  readonly text: string
}

/** One HTTPS request to a local API, with or without a client certificate, SNI as given. */
export async function httpsRequest (port: number, options: { method?: string, path: string, caPem: string, cert?: TestCert, servername?: string, body?: string | Buffer, headers?: Record<string, string>, session?: Buffer, agent?: https.Agent }): Promise<HttpAnswer> {
  return await new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1',
      port,
      method: options.method ?? 'GET',
      path: options.path,
      ca: options.caPem,
      servername: options.servername,
      ...(options.cert === undefined ? {} : { cert: options.cert.certPem, key: options.cert.keyPem }),
      checkServerIdentity: () => undefined,
      headers: options.headers,
      ...(options.session === undefined ? {} : { session: options.session }),
      agent: options.agent ?? false
    }, res => {
      const chunks: Buffer[] = []
      res.on('data', chunk => chunks.push(chunk))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let body: unknown
        try { body = JSON.parse(text) } catch { body = undefined }
        resolve({ status: res.statusCode ?? 0, body, text })
      })
    })
    req.on('error', reject)
    req.end(options.body)
  })
}

/** The admin API as the CLI calls it: `token` as the bearer, `body` (when given) as JSON. */
export async function adminRequest (port: number, caPem: string, token: string, method: string, route: string, body?: unknown): Promise<HttpAnswer> {
  return await httpsRequest(port, {
    method,
    path: route,
    caPem,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
}

/** Polls `check` until it returns a value (not undefined) or the time is up. */
export async function within<T> (ms: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`)
    await new Promise(resolve => setTimeout(resolve, 25))
  }
}

export function readText (file: string): string {
  return readFileSync(file, 'utf8')
}
