import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import https from 'node:https'
import path from 'node:path'
import type { TestCert } from './pki.js'
import { freePort } from './redis-server.js'
import { makeTempDir } from './temp-dir.js'
import { MQGATE_BIN, runMqgate, type CliResult } from './mqgate-cli.js'

/** `mqgate start` in a child process, so that its memory can be measured apart from the test's. */
export interface MqgateProcess {
  readonly child: ChildProcess
  readonly mqttPort: number
  /** The temps API (HTTPS), which also serves the managed CAs' CRLs at /crl/<org>.crl. */
  readonly apiPort: number
  /** The admin API's port (HTTPS; /healthz answers without a token) and the CA of its certificate. */
  readonly adminPort: number
  readonly adminCaPem: string
  readonly dataDir: string
  readonly caPem: string
  /** A demo identity's certificate and key from the bootstrap files (d:sensor:demo-001, g:gw:demo-gw, a:demo-app). */
  bootstrap (commonName: string): TestCert
  /** A new client certificate of the demo organisation, issued through the admin API as an operator would. */
  issue (commonName: string): Promise<TestCert>
  /** Runs an operator verb (`mqgate <args>`) against this process's admin API. */
  cli (args: readonly string[]): Promise<CliResult>
  /** What the process (its workers included) printed on stdout so far: the welcome text, then JSON log lines at MQGATE_LOG_LEVEL. */
  output (): string
  /** Resident set size of the child, in bytes (from /proc). */
  rss (): number
  alive (): boolean
  stop (): Promise<void>
}

/**
 * `dataDir`: reuse a data dir (a restart onto the same state); `stop` then leaves it in place.
 * `args`: after `start` (with REDIS_URL it forks one worker per core unless told `--workers 1`).
 */
export async function startMqgateProcess (env: Record<string, string> = {}, options: { dataDir?: string, args?: readonly string[] } = {}): Promise<MqgateProcess> {
  const temp = options.dataDir === undefined ? await makeTempDir('process') : { dir: options.dataDir, remove: async () => {} }
  const [mqttPort, adminPort, apiPort] = [await freePort(), await freePort(), await freePort()]
  const child = spawn(process.execPath, [MQGATE_BIN, 'start', ...(options.args ?? [])], {
    env: { ...process.env, MQGATE_DATA_DIR: temp.dir, MQGATE_MQTT_PORT: String(mqttPort), MQGATE_ADMIN_PORT: String(adminPort), MQGATE_WS_PORT: '0', MQGATE_PKI_HTTP_PORT: '0', MQGATE_API_PORT: String(apiPort), REDIS_URL: '', MQGATE_LOG_LEVEL: 'error', ...env },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  let output = ''
  child.stdout?.on('data', chunk => { output += chunk })
  const deadline = Date.now() + 20_000
  while (!output.includes('mosquitto_pub ')) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`mqgate start did not come up:\n${output}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  const dir = path.join(temp.dir, 'orgs', 'demo', 'bootstrap')
  return {
    child,
    mqttPort,
    apiPort,
    adminPort,
    adminCaPem: readFileSync(path.join(temp.dir, 'admin', 'ca.pem'), 'utf8'),
    dataDir: temp.dir,
    cli: async args => await runMqgate(args, { MQGATE_DATA_DIR: temp.dir, MQGATE_ADMIN_PORT: String(adminPort) }),
    caPem: readFileSync(path.join(dir, 'ca.pem'), 'utf8'),
    bootstrap: cn => ({ certPem: readFileSync(path.join(dir, `${cn.replaceAll(':', '_')}.crt`), 'utf8'), keyPem: readFileSync(path.join(dir, `${cn.replaceAll(':', '_')}.key`), 'utf8') }),
    issue: async cn => await issueThroughAdminApi(temp.dir, adminPort, cn),
    output: () => output,
    rss: () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid as number}/status`, 'utf8'))?.[1] ?? 0) * 1024,
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop () {
      // A child killed by a signal has a null exitCode and emits 'exit' no more.
      if (child.exitCode === null && child.signalCode === null) {
        await new Promise(resolve => { child.once('exit', resolve); child.kill('SIGTERM') })
      }
      await temp.remove()
    }
  }
}

async function issueThroughAdminApi (dataDir: string, adminPort: number, commonName: string): Promise<TestCert> {
  const token = readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim()
  const ca = readFileSync(path.join(dataDir, 'admin', 'ca.pem'), 'utf8')
  const body = await new Promise<string>((resolve, reject) => {
    const request = https.request({
      host: '127.0.0.1',
      port: adminPort,
      path: '/orgs/demo/certs',
      method: 'POST',
      ca,
      checkServerIdentity: () => undefined,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
    }, response => {
      let text = ''
      response.setEncoding('utf8').on('data', chunk => { text += chunk }).on('end', () => {
        if (response.statusCode === 201) resolve(text)
        else reject(new Error(`issuing ${commonName}: HTTP ${String(response.statusCode)} ${text}`))
      })
    })
    request.on('error', reject)
    request.end(JSON.stringify({ cn: commonName }))
  })
  const issued = JSON.parse(body) as { certificate: string, private_key: string }
  return { certPem: issued.certificate, keyPem: issued.private_key }
}
