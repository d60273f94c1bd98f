import { createPrivateKey } from 'node:crypto'
import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { createManagedCa, generateKeyPair, issue, localSigner } from '../certs/index.js'
import { AdminClient } from '../certs/cli/admin-client.js'
import { freePort } from '../test/support/redis-server.js'

export const MQGATE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../cli/mqgate.js')
export const BENCH_TOKEN = 'bench-admin-token'
/** The key-encryption key of bench runs on Redis (32 bytes, base64): the registry's keys are sealed with it. */
export const BENCH_KEK = 'YmVuY2gtb25seS1rZWstZm9yLW1xZ2F0ZS1iZW5jaCE='

/** A broker under measurement: where it listens, how to trust it, and its process's CPU and memory. */
export interface Target {
  readonly name: string
  readonly mqttPort: number
  readonly apiPort?: number
  /** CAs the clients trust for the server certificate. */
  readonly caPem: string
  /** The processes whose CPU and memory count. */
  readonly pids: () => number[]
  /** The clientId a device identity must use on this target. */
  clientId (kind: 'd' | 'a', type: string, id: string): string
  /** The topic a device publishes an event on, as its own. */
  eventTopic (type: string, id: string, event: string): string
  stop (): Promise<void>
}

/** Device and application certificates issued by the target, all with one key pair (bench clients need hundreds). */
export interface Identities {
  readonly keyPem: string
  cert (commonName: string): Promise<string>
}

/** Every thread of the process (libuv's pool, V8's GC threads), not only its main thread. */
export function pinToCore (pid: number, core: number): void {
  spawnSync('taskset', ['-a', '-cp', String(core), String(pid)], { stdio: 'ignore' })
}

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100

/** CPU time (user + system) of processes, in microseconds, from /proc. */
export function cpuMicros (pids: readonly number[]): number {
  let total = 0
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
      total += (Number(fields[11]) + Number(fields[12])) * 1e6 / CLOCK_TICKS
    } catch { /* the process is gone */ }
  }
  return total
}

export function rssBytes (pids: readonly number[]): number {
  let total = 0
  for (const pid of pids) {
    try {
      total += Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024
    } catch { /* gone */ }
  }
  return total
}

/** `mqgate start` on embedded defaults, or on Redis, its processes pinned to core 0. */
export async function startMqgate (options: { redisUrl?: string, workers?: number, pin?: boolean, caPem?: string, nodeArgs?: string[], env?: Record<string, string>, onLine?: (line: string) => void } = {}): Promise<Target & { identities: Identities, admin: AdminClient, adminPort: number, dataDir: string }> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mqgate-bench-'))
  const [mqttPort, adminPort, apiPort] = [await freePort(), await freePort(), await freePort()]
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), MQGATE, 'start', '--workers', String(options.workers ?? 1)], {
    env: {
      ...process.env,
      MQGATE_DATA_DIR: dataDir,
      MQGATE_MQTT_PORT: String(mqttPort),
      MQGATE_ADMIN_PORT: String(adminPort),
      MQGATE_WS_PORT: '0',
      MQGATE_API_PORT: String(apiPort),
      MQGATE_ADMIN_TOKEN: BENCH_TOKEN,
      REDIS_URL: options.redisUrl ?? '',
      // With Redis a KEK is required; without, the first start generates <data dir>/kek.
      ...(options.redisUrl === undefined ? {} : { MQGATE_KEK: BENCH_KEK }),
      MQGATE_LOG_LEVEL: 'warn',
      // The bench opens thousands of connections from one address, fast.
      MQGATE_MAX_CONNECTIONS_PER_IP: '1000000',
      MQGATE_CONNECTION_RATE_PER_IP: '1000000',
      ...options.env
    },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  let output = ''
  let started = false
  let partial = ''
  child.stdout?.on('data', chunk => {
    // Kept only until it is up; after that each log line goes to onLine (a soak run logs for minutes).
    if (!started) output += chunk
    if (options.onLine === undefined) return
    const lines = (partial + String(chunk)).split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) options.onLine(line)
  })
  const deadline = Date.now() + 60_000
  while (!output.includes('mosquitto_pub ')) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`mqgate did not start:\n${output}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  started = true
  await new Promise(resolve => setTimeout(resolve, 500))
  const pids = (): number[] => [child.pid as number, ...childPids(child.pid as number)]
  if (options.pin !== false) for (const pid of pids()) pinToCore(pid, 0)
  const caPem = options.caPem ?? readFileSync(path.join(dataDir, 'orgs', 'demo', 'bootstrap', 'ca.pem'), 'utf8')
  const admin = new AdminClient({ apiUrl: `https://127.0.0.1:${adminPort}`, token: BENCH_TOKEN, caPem: readFileSync(path.join(dataDir, 'admin', 'ca.pem'), 'utf8') })
  // P-256 like a constrained device's key: signing it costs the bench's core little.
  const keys = generateKeyPair('ec')
  const { createCsr } = await import('../certs/index.js')
  return {
    name: options.redisUrl === undefined ? 'mqgate' : 'mqgate (Redis)',
    mqttPort,
    apiPort,
    adminPort,
    dataDir,
    caPem,
    pids,
    admin,
    clientId: (kind, type, id) => kind === 'd' ? `d:demo:${type}:${id}` : `a:demo:${id}`,
    eventTopic: (_type, _id, event) => `iot-2/evt/${event}/fmt/json`,
    // Issued through the admin API, as an operator would (`cert issue --csr`).
    identities: {
      keyPem: keys.privateKeyPem,
      cert: async commonName => (await admin.request('POST', '/orgs/demo/certs', { cn: commonName, csr: createCsr(keys.privateKeyPem, commonName, []) })).certificate as string
    },
    async stop () {
      if (child.exitCode === null) await new Promise(resolve => { child.once('exit', resolve); child.kill('SIGTERM') })
      rmSync(dataDir, { recursive: true, force: true })
    }
  }
}

function childPids (pid: number): number[] {
  const out = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout
  return out.split('\n').filter(Boolean).map(Number)
}

export function mosquittoAvailable (): boolean {
  return spawnSync('mosquitto', ['-h']).error === undefined
}

/** A P-256 server certificate (localhost, 127.0.0.1) from a throwaway CA of the bench's own, for a target that is not mqgate. */
export async function benchServerCert (caId: string): Promise<{ certPem: string, keyPem: string, caPem: string }> {
  const ca = await createManagedCa(caId)
  // Nothing to record: the CA lives as long as the run.
  const authority = { caId, signer: localSigner(ca.certPem, createPrivateKey(ca.keyPem)), record: async () => {}, audit: () => {} }
  const issued = await issue(authority, { kind: 'server', profile: 'server', names: ['localhost', '127.0.0.1'], keyType: 'ec' }, 'bench')
  return { certPem: issued.record.certPem, keyPem: issued.keyPem as string, caPem: ca.certPem }
}

/**
 * Mosquitto with the same client certificates (require_certificate, the CN as
 * username), a P-256 server certificate like mqgate's, no ACL, pinned to core 0,
 * configured as mqgate runs: TLS 1.2 and 1.3 (the clients negotiate 1.3),
 * Nagle's algorithm off.
 */
export async function startMosquitto (clientCaPem: string): Promise<Target> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mosquitto-bench-'))
  const server = await benchServerCert('mosquitto-bench')
  writeFileSync(path.join(dir, 'clients-ca.pem'), clientCaPem)
  writeFileSync(path.join(dir, 'server.crt'), server.certPem)
  writeFileSync(path.join(dir, 'server.key'), server.keyPem)
  // Mosquitto started as root drops to user mosquitto, which must read these (a throwaway bench key).
  chmodSync(dir, 0o755)
  for (const file of ['clients-ca.pem', 'server.crt', 'server.key']) chmodSync(path.join(dir, file), 0o644)
  const port = await freePort()
  writeFileSync(path.join(dir, 'mosquitto.conf'), [
    'per_listener_settings false', 'persistence false', 'log_dest none', 'allow_anonymous false', 'max_queued_messages 10000',
    `listener ${port} 127.0.0.1`, `cafile ${path.join(dir, 'clients-ca.pem')}`, `certfile ${path.join(dir, 'server.crt')}`,
    `keyfile ${path.join(dir, 'server.key')}`, 'require_certificate true', 'use_identity_as_username true', 'set_tcp_nodelay true', ''
  ].join('\n'))
  const child = spawn('taskset', ['-c', '0', 'mosquitto', '-c', path.join(dir, 'mosquitto.conf')], { stdio: 'ignore' })
  await new Promise(resolve => setTimeout(resolve, 500))
  const pid = Number(spawnSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).stdout.trim()) || (child.pid as number)
  return {
    name: 'mosquitto',
    mqttPort: port,
    caPem: server.caPem,
    pids: () => [pid],
    clientId: (kind, type, id) => `${kind}-${type}-${id}`,
    eventTopic: (type, id, event) => `iot-2/type/${type}/id/${id}/evt/${event}/fmt/json`,
    async stop () {
      if (child.exitCode === null) await new Promise(resolve => { child.once('exit', resolve); child.kill('SIGTERM') })
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

export function redisAvailable (): boolean {
  return spawnSync('redis-server', ['--version']).status === 0
}
