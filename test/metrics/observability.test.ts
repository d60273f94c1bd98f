import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { connect, endAll, tryConnect } from '../support/mqtt-client.js'
import { freePort, startTestRedis, type TestRedis } from '../support/redis-server.js'
import { ADMIN_TOKEN, httpsRequest, startTestStack, within, type HttpAnswer, type TestStack } from '../support/stack.js'
import { makeTempDir } from '../support/temp-dir.js'

const MQGATE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../cli/mqgate.js')

/** The value of a sample in Prometheus text, or undefined. */
function sample (text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`)
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const match = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line)
    if (match === null || match[1] !== name) continue
    const have = (match[2] ?? '').split(',').filter(Boolean)
    if (wanted.every(w => have.includes(w))) return Number(match[3])
  }
  return undefined
}

describe('observability', function () {
  this.timeout(60_000)
  let redis: TestRedis
  let stack: TestStack

  before(async () => {
    redis = await startTestRedis()
    stack = await startTestStack({ REDIS_URL: redis.url })
  })
  after(async () => {
    await stack.close()
    await redis.stop()
  })

  const admin = async (route: string, token: string | null = ADMIN_TOKEN): Promise<HttpAnswer> =>
    await httpsRequest(stack.adminPort, { path: route, caPem: readFileSync(path.join(stack.dataDir, 'admin', 'ca.pem'), 'utf8'), headers: token === null ? {} : { authorization: `Bearer ${token}` } })

  it('answers /healthz and /readyz without a token, ready with Redis reachable', async () => {
    const health = await admin('/healthz', null)
    assert.deepEqual([health.status, health.body], [200, { status: 'ok' }])
    const ready = await admin('/readyz', null)
    assert.equal(ready.status, 200)
    assert.deepEqual(ready.body.checks, { listening: true, registry: true, redis: true })
  })

  it('serves /metrics behind the admin token only', async () => {
    assert.equal((await admin('/metrics', null)).status, 401)
    const answer = await admin('/metrics')
    assert.equal(answer.status, 200)
    assert.match(answer.text, /^# HELP mqgate_connections /m)
    assert.match(answer.text, /^process_cpu_seconds_total /m)
  })

  it('counts connections by organisation, CONNACK codes, refusals, messages and readings', async () => {
    const device = await connect({ port: stack.mqttPort, caPem: stack.caPem, cert: stack.issue('d:sensor:metered'), clientId: 'd:demo:sensor:metered', skipServerNameCheck: true })
    await device.publishAsync('iot-2/evt/temp/fmt/json', '{"temperature":1,"time":"2020-09-28T02:54:56Z"}', { qos: 1 })
    await tryConnect({ port: stack.mqttPort, caPem: stack.caPem, cert: stack.issue('d:sensor:wrong-id'), clientId: 'd:demo:sensor:not-mine', skipServerNameCheck: true })
    await tryConnect({ port: stack.mqttPort, caPem: stack.caPem, clientId: 'd:demo:sensor:x', skipServerNameCheck: true })
    const text = await within(15_000, async () => {
      const body = (await admin('/metrics')).text
      // The store and the forward stage are separate: wait for both. The forward target is
      // mqgate's own temps API (no MQGATE_TEMPS_URL): the reading is counted as not POSTed to it.
      const stored = sample(body, 'mqgate_readings', { outcome: 'stored' }) ?? 0
      const ownApi = sample(body, 'mqgate_readings', { outcome: 'own_api' }) ?? 0
      return stored >= 1 && ownApi >= 1 ? body : undefined
    })
    assert.equal(sample(text, 'mqgate_connections', { org: 'demo' }), 1)
    assert.ok((sample(text, 'mqgate_connack_total', { code: '0' }) ?? 0) >= 1)
    assert.equal(sample(text, 'mqgate_connack_total', { code: '2' }), 1)
    assert.equal(sample(text, 'mqgate_connections_refused_total', { reason: 'BROKER_ERR_NO_CLIENT_CERT' }), 1)
    assert.ok((sample(text, 'mqgate_messages_in_total') ?? 0) >= 1)
    assert.ok((sample(text, 'mqgate_readings', { outcome: 'own_api' }) ?? 0) >= 1)
    assert.equal(sample(text, 'mqgate_readings', { outcome: 'forwarded' }), undefined)
    assert.notEqual(sample(text, 'mqgate_bridge_lag', { stage: 'store', state: 'pending' }), undefined)
    assert.ok((sample(text, 'mqgate_redis_round_trip_seconds') ?? -1) >= 0)
    const serverExpiry = sample(text, 'mqgate_certificate_expiry_seconds', { org: 'demo', kind: 'server' }) ?? 0
    assert.ok(serverExpiry > 300 * 86400 && serverExpiry < 398 * 86400, `server certificate expires in ${serverExpiry} s`)
    assert.ok((sample(text, 'mqgate_certificate_expiry_seconds', { org: 'demo', kind: 'ca' }) ?? 0) > 3000 * 86400)
    device.publish('iot-2/type/sensor/id/other/evt/temp/fmt/json', '{}', { qos: 1 })
    await within(10_000, async () => sample((await admin('/metrics')).text, 'mqgate_publishes_refused_total', { reason: 'BROKER_ERR_TOPIC_NOT_OWNED' }) === 1 ? true : undefined)
    await endAll(device)
  })

  it('reports not ready while Redis does not answer, and ready again once it does', async () => {
    await redis.halt()
    try {
      const ready = await admin('/readyz', null)
      assert.equal(ready.status, 503)
      assert.equal(ready.body.checks.redis, false)
    } finally {
      await redis.restart()
    }
    await within(10_000, async () => (await admin('/readyz', null)).status === 200 ? true : undefined)
  })
})

describe('graceful shutdown', function () {
  this.timeout(60_000)

  it('closes within 10 s while Redis is down, and while it is coming back', async () => {
    for (const redisState of ['down', 'restarted'] as const) {
      const redis = await startTestRedis()
      try {
        const stack = await startTestStack({ REDIS_URL: redis.url })
        const device = await connect({ port: stack.mqttPort, caPem: stack.caPem, cert: stack.issue('d:sensor:last'), clientId: 'd:demo:sensor:last', skipServerNameCheck: true })
        await device.publishAsync('iot-2/evt/temp/fmt/json', '{"temperature":4,"time":"2020-09-28T02:54:56Z"}', { qos: 1 })
        await endAll(device)
        if (redisState === 'down') await redis.halt()
        else await redis.restart()
        const started = Date.now()
        await stack.close()
        assert.ok(Date.now() - started < 10_000, `closed in ${Date.now() - started} ms with Redis ${redisState}`)
      } finally {
        await redis.stop()
      }
    }
  })

  it('stops on SIGTERM within 10 s with exit code 0, after accepting a last publish', async () => {
    const temp = await makeTempDir('sigterm')
    const mqttPort = await freePort()
    const child = spawn(process.execPath, [MQGATE, 'start'], { env: { ...process.env, MQGATE_DATA_DIR: temp.dir, MQGATE_MQTT_PORT: String(mqttPort), MQGATE_ADMIN_PORT: String(await freePort()), MQGATE_WS_PORT: '0', MQGATE_PKI_HTTP_PORT: '0', MQGATE_API_PORT: String(await freePort()), REDIS_URL: '' }, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', chunk => { output += chunk })
    try {
      await within(20_000, async () => output.includes('mosquitto_pub ') ? true : undefined)
      const dir = path.join(temp.dir, 'orgs', 'demo', 'bootstrap')
      const cert = { certPem: readFileSync(path.join(dir, 'd_sensor_demo-001.crt'), 'utf8'), keyPem: readFileSync(path.join(dir, 'd_sensor_demo-001.key'), 'utf8') }
      const device = await connect({ port: mqttPort, caPem: readFileSync(path.join(dir, 'ca.pem'), 'utf8'), cert, clientId: 'd:demo:sensor:demo-001', skipServerNameCheck: true })
      await device.publishAsync('iot-2/evt/temp/fmt/json', '{"temperature":2,"time":"2020-09-28T02:54:56Z"}', { qos: 1 })
      const started = Date.now()
      // 'close', not 'exit': only then has the last of stdout been read.
      const exited = new Promise<number | null>(resolve => child.once('close', code => resolve(code)))
      child.kill('SIGTERM')
      assert.equal(await exited, 0)
      assert.ok(Date.now() - started < 10_000)
      assert.match(output, /"event":"process.stopped"/)
      await endAll(device)
    } finally {
      child.kill('SIGKILL')
      await temp.remove()
    }
  })
})
