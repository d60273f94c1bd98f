import assert from 'node:assert/strict'
import type { MqttClient } from 'mqtt'
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { respawnDelay } from '../../cli/cluster.js'
import { TEST_KEK } from '../support/kek.js'
import { runCommand, showResult } from '../support/mqgate-cli.js'
import { collect, connect, endAll } from '../support/mqtt-client.js'
import { freePort, startTestRedis, type TestRedis } from '../support/redis-server.js'
import { consoleRequest, consoleSignIn, sessionCookieOf } from '../support/console-http.js'
import { within } from '../support/stack.js'
import { makeTempDir } from '../support/temp-dir.js'

const MQGATE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../cli/mqgate.js')

describe('mqgate start --workers', function () {
  this.timeout(60_000)
  let redis: TestRedis
  let temp: { dir: string, remove: () => Promise<void> }
  let child: ChildProcess
  let output = ''
  let mqttPort: number
  let pkiPort: number
  let adminPort: number

  before(async () => {
    redis = await startTestRedis()
    temp = await makeTempDir('workers')
    mqttPort = await freePort()
    pkiPort = await freePort()
    adminPort = await freePort()
    child = spawn(process.execPath, [MQGATE, 'start', '--workers', '2'], {
      env: { ...process.env, REDIS_URL: redis.url, MQGATE_KEK: TEST_KEK, MQGATE_DATA_DIR: temp.dir, MQGATE_MQTT_PORT: String(mqttPort), MQGATE_ADMIN_PORT: String(adminPort), MQGATE_WS_PORT: '0', MQGATE_PKI_HTTP_PORT: String(pkiPort), MQGATE_API_PORT: String(await freePort()) },
      stdio: ['ignore', 'pipe', 'inherit']
    })
    child.stdout?.on('data', chunk => { output += chunk })
    await within(30_000, async () => output.includes('mosquitto_pub ') ? true : undefined)
  })
  after(async () => {
    if (child.exitCode === null) await new Promise(resolve => { child.once('exit', resolve); child.kill('SIGTERM') })
    await redis.stop()
    await temp.remove()
  })

  const bootstrap = (name: string): { certPem: string, keyPem: string } => {
    const dir = path.join(temp.dir, 'orgs', 'demo', 'bootstrap')
    return { certPem: readFileSync(path.join(dir, `${name}.crt`), 'utf8'), keyPem: readFileSync(path.join(dir, `${name}.key`), 'utf8') }
  }
  const caPem = (): string => readFileSync(path.join(temp.dir, 'orgs', 'demo', 'bootstrap', 'ca.pem'), 'utf8')
  const pidsOf = (event: string, clientId: string): Set<number> =>
    new Set(output.split('\n').filter(l => l.includes(`"event":"${event}"`) && l.includes(`"clientId":"${clientId}"`)).map(l => JSON.parse(l).pid as number))

  it('runs the given number of processes on one port, sharing the connections', async () => {
    for (let i = 0; i < 6; i++) {
      const device = await connect({ port: mqttPort, caPem: caPem(), cert: bootstrap('d_sensor_demo-001'), clientId: 'd:demo:sensor:demo-001', skipServerNameCheck: true })
      await endAll(device)
    }
    await within(10_000, async () => pidsOf('client.connected', 'd:demo:sensor:demo-001').size >= 2 ? true : undefined)
    assert.ok(!pidsOf('client.connected', 'd:demo:sensor:demo-001').has(child.pid as number), 'the primary only supervises')
  })

  it('names the workers\' OCSP responder in the demo certificates the primary issued, and the workers answer there', async () => {
    const dir = path.join(temp.dir, 'orgs', 'demo', 'bootstrap')
    const certFile = path.join(dir, 'd_sensor_demo-001.crt')
    const text = (await runCommand('openssl', ['x509', '-in', certFile, '-noout', '-text'])).stdout
    assert.match(text, new RegExp(`OCSP - URI:http://demo\\.messaging\\.localhost:${pkiPort}/ocsp/demo\\b`), text)
    const run = await runCommand('openssl', ['ocsp', '-issuer', path.join(dir, 'ca.pem'), '-cert', certFile, '-url', `http://127.0.0.1:${pkiPort}/ocsp/demo`, '-CAfile', path.join(dir, 'ca.pem')])
    assert.match(run.stdout, /d_sensor_demo-001\.crt: good/, showResult(run))
    assert.match(run.stderr, /Response verify OK/, showResult(run))
  })

  /** Connects and finds the worker that logged the connection (its line comes through a pipe, a moment later). */
  async function connectOnWorker (name: string, clientId: string): Promise<{ client: MqttClient, pid: number }> {
    const lines = (): string[] => output.split('\n').filter(l => l.includes('"event":"client.connected"') && l.includes(`"clientId":"${clientId}"`))
    const before = lines().length
    const client = await connect({ port: mqttPort, caPem: caPem(), cert: bootstrap(name), clientId, skipServerNameCheck: true })
    const line = await within(10_000, async () => lines()[before])
    return { client, pid: JSON.parse(line).pid as number }
  }

  it('delivers from a device on one worker to an application on another, through Redis', async () => {
    const { client: app, pid: appPid } = await connectOnWorker('a_demo-app', 'a:demo:demo-app')
    const inbox = collect(app)
    await app.subscribeAsync('iot-2/type/+/id/+/evt/+/fmt/+', { qos: 1 })
    // Round robin puts the next connection on the other worker; reconnect until it is.
    let { client: device, pid: devicePid } = await connectOnWorker('d_sensor_demo-001', 'd:demo:sensor:demo-001')
    for (let attempt = 0; attempt < 4 && devicePid === appPid; attempt++) {
      await endAll(device);
      ({ client: device, pid: devicePid } = await connectOnWorker('d_sensor_demo-001', 'd:demo:sensor:demo-001'))
    }
    assert.notEqual(devicePid, appPid, 'the device and the application are on different workers')
    await device.publishAsync('iot-2/evt/temp/fmt/json', '{"temperature":3,"time":"2020-09-28T02:54:56Z"}', { qos: 1 })
    assert.equal((await inbox.next()).topic, 'iot-2/type/sensor/id/demo-001/evt/temp/fmt/json')
    await endAll(app, device)
  })

  // The workers share the admin port, so the console's requests land on either: its sessions live in Redis.
  it('keeps a console session on every worker', async () => {
    const adminCa = readFileSync(path.join(temp.dir, 'admin', 'ca.pem'), 'utf8')
    const cookie = sessionCookieOf(await consoleSignIn(adminPort, adminCa, readFileSync(path.join(temp.dir, 'admin-token'), 'utf8').trim()))
    const statuses: number[] = []
    for (let i = 0; i < 8; i++) statuses.push((await consoleRequest(adminPort, adminCa, 'GET', '/console/orgs', { cookie })).status)
    assert.deepEqual(statuses, new Array(8).fill(200))
  })

  /** The primary's child processes (its workers), from /proc. */
  const workerPids = (): number[] => readFileSync(`/proc/${child.pid as number}/task/${child.pid as number}/children`, 'utf8').trim().split(/\s+/).filter(p => p !== '').map(Number)

  // Issue 18, item 2: the respawn timer was unref()ed, so with every worker dead
  // at once nothing kept the primary alive: it exited (status 13), the port closed.
  it('keeps respawning workers when all of them die at once, and serves again', async () => {
    const pids = workerPids()
    assert.equal(pids.length, 2, `two workers: ${pids.join(', ')}`)
    const diedBefore = output.split('\n').filter(l => l.includes('"code":"CLUSTER_WORKER_RESPAWN"')).length
    for (const pid of pids) process.kill(pid, 'SIGKILL')
    const fresh = await within(20_000, async () => {
      const now = workerPids()
      return now.length === 2 && now.every(p => !pids.includes(p)) ? now : undefined
    }).catch(err => { throw new Error(`workers not replaced (primary ${child.exitCode === null && child.signalCode === null ? 'alive' : `exited with ${String(child.exitCode ?? child.signalCode)}`}): ${(err as Error).message}`) })
    assert.equal(fresh.length, 2)
    assert.equal(child.exitCode, null, 'the primary is still running')
    const respawns = output.split('\n').filter(l => l.includes('"code":"CLUSTER_WORKER_RESPAWN"')).slice(diedBefore)
    assert.equal(respawns.length, 2, 'each death is logged with its code')
    const device = await within(20_000, async () => await connect({ port: mqttPort, caPem: caPem(), cert: bootstrap('d_sensor_demo-001'), clientId: 'd:demo:sensor:demo-001', skipServerNameCheck: true }).catch(() => undefined))
    await device.publishAsync('iot-2/evt/temp/fmt/json', '{"temperature":4,"time":"2020-09-28T02:54:56Z"}', { qos: 1 })
    await endAll(device)
  })

  it('stops every worker on SIGTERM', async () => {
    const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
    child.kill('SIGTERM')
    assert.equal(await exited, 0)
  })
})

describe('cluster respawn backoff', () => {
  it('waits 100 ms after a first death, doubling per death in a row up to 10 s', () => {
    assert.deepEqual([1, 2, 3, 4, 7, 8, 50].map(respawnDelay), [100, 200, 400, 800, 6400, 10_000, 10_000])
  })
})
