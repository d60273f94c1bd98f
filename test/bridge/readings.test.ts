import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import type { MqttClient } from 'mqtt'
import { collect, connect, endAll } from '../support/mqtt-client.js'
import { startTestRedis, type TestRedis } from '../support/redis-server.js'
import { ADMIN_TOKEN, httpsRequest, startTestStack, within, type TestStack } from '../support/stack.js'
import { makeTempDir } from '../support/temp-dir.js'
import { startTempsRecorder, type TempsRecorder } from '../support/temps-recorder.js'

const READING = { temperature: 36.6, time: '2020-09-28T02:54:56Z' }

for (const backend of ['memory', 'redis'] as const) {
  describe(`readings end to end (${backend})`, () => {
    let redis: TestRedis | undefined
    let stack: TestStack
    const clients: MqttClient[] = []

    before(async () => {
      redis = backend === 'redis' ? await startTestRedis() : undefined
      stack = await startTestStack(redis === undefined ? {} : { REDIS_URL: redis.url })
    })
    after(async () => {
      await stack.close()
      await redis?.stop()
    })
    afterEach(async () => await endAll(...clients.splice(0)))

    async function device (id: string, type = 'sensor'): Promise<MqttClient> {
      const client = await connect({ port: stack.mqttPort, caPem: stack.caPem, cert: stack.issue(`d:${type}:${id}`), clientId: `d:demo:${type}:${id}`, skipServerNameCheck: true })
      clients.push(client)
      return client
    }

    const readingsOf = async (type: string, id: string, limit = 5): Promise<any[] | undefined> => {
      const answer = await httpsRequest(stack.apiPort, { path: `/devices/${type}/${id}/temps?limit=${limit}`, caPem: stack.caPem, cert: stack.issue('a:mobile-backend') })
      return answer.status === 200 ? answer.body : undefined
    }

    it('stores a reading a device publishes with mqtt.js and serves it to an application within a second', async () => {
      const sensor = await device('e2e-1')
      const published = Date.now()
      await sensor.publishAsync('iot-2/evt/temp/fmt/json', JSON.stringify(READING), { qos: 1 })
      const readings = await within(1000, async () => await readingsOf('sensor', 'e2e-1'))
      assert.ok(Date.now() - published <= 1000)
      assert.deepEqual(readings.map(r => ({ temperature: r.temperature, time: r.time })), [READING])
      assert.match(readings[0].id, /^[0-9a-f]{24}$/)
    })

    it('stores a reading published with mosquitto_pub', async function () {
      if (spawnSync('mosquitto_pub', ['--help']).error !== undefined) this.skip()
      const cert = stack.issue('d:sensor:e2e-mosquitto')
      const certFile = stack.writeFile('mosq.crt', cert.certPem)
      const keyFile = stack.writeFile('mosq.key', cert.keyPem)
      const caFile = stack.writeFile('mosq-ca.pem', stack.caPem)
      const status = await new Promise<number | null>(resolve => {
        const child = spawn('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(stack.mqttPort), '--cafile', caFile, '--cert', certFile, '--key', keyFile,
          '-i', 'd:demo:sensor:e2e-mosquitto', '-q', '1', '-t', 'iot-2/evt/temp/fmt/json', '-m', '{"temperature":"21.5","time":"2020-09-28T03:00:00Z"}'], { stdio: 'ignore' })
        child.once('close', resolve)
      })
      assert.equal(status, 0)
      const readings = await within(1000, async () => await readingsOf('sensor', 'e2e-mosquitto'))
      assert.equal(readings[0].temperature, 21.5, 'a numeric string is stored as a number')
    })

    it('does not POST readings to mqgate\'s own temps API, whose store already has them once however often they arrive', async () => {
      const sensor = await device('twice')
      // The counters are shared with the tests before: compare with what they were.
      const before = await stack.running.backend.deadLetters.counters()
      for (let i = 0; i < 2; i++) await sensor.publishAsync('iot-2/evt/temp/fmt/json', JSON.stringify(READING), { qos: 1 })
      const after = await within(5000, async () => {
        const counters = await stack.running.backend.deadLetters.counters()
        return (counters.own_api ?? 0) >= (before.own_api ?? 0) + 2 ? counters : undefined
      })
      assert.equal(after.forwarded ?? 0, before.forwarded ?? 0, 'no reading was POSTed to the own temps API')
      const readings = await within(5000, async () => await readingsOf('sensor', 'twice'))
      assert.equal(readings.length, 1)
    })

    it('gives an application subscribed to temp events the reading live, on the canonical topic', async () => {
      const watcher = await connect({ port: stack.mqttPort, caPem: stack.caPem, cert: stack.issue('a:watch'), clientId: 'a:demo:watch', skipServerNameCheck: true })
      clients.push(watcher)
      const inbox = collect(watcher)
      await watcher.subscribeAsync('iot-2/type/+/id/+/evt/temp/fmt/json', { qos: 1 })
      const sensor = await device('live')
      await sensor.publishAsync('iot-2/evt/temp/fmt/json', JSON.stringify(READING), { qos: 1 })
      const message = await inbox.next()
      assert.equal(message.topic, 'iot-2/type/sensor/id/live/evt/temp/fmt/json')
    })

    it('stores every valid reading of 1,000 from 50 devices and dead-letters each of the 100 malformed ones with its reason', async function () {
      this.timeout(60_000)
      const sensors = await Promise.all(Array.from({ length: 50 }, async (_, d) => await device(`bulk-${d}`)))
      const bad = [
        ['not json', 'BRIDGE_ERR_PAYLOAD_NOT_JSON'],
        ['[1,2]', 'BRIDGE_ERR_PAYLOAD_NOT_OBJECT'],
        ['{"temperature":"warm","time":"2020-09-28T02:54:56Z"}', 'BRIDGE_ERR_TEMPERATURE_INVALID'],
        ['{"temperature":20,"time":"yesterday"}', 'BRIDGE_ERR_TIME_INVALID']
      ] as const
      const expectedCodes: Record<string, number> = {}
      await Promise.all(sensors.map(async (sensor, d) => {
        for (let n = 0; n < 20; n++) {
          const malformed = n % 10 === 9
          const payload = malformed ? bad[(d + n) % bad.length][0] : JSON.stringify({ temperature: n, time: new Date(Date.UTC(2024, 0, 1, 0, 0, n)).toISOString() })
          if (malformed) expectedCodes[bad[(d + n) % bad.length][1]] = (expectedCodes[bad[(d + n) % bad.length][1]] ?? 0) + 1
          await sensor.publishAsync('iot-2/evt/temp/fmt/json', payload, { qos: 1 })
        }
      }))
      const letters = await within(15_000, async () => {
        const answer = await httpsRequest(stack.adminPort, { path: '/readings/dead-letters?limit=1000', caPem: readAdminCa(stack), headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
        const bulk = (answer.body?.dead_letters ?? []).filter((l: any) => l.deviceId.startsWith('bulk-'))
        return bulk.length >= 100 ? bulk : undefined
      })
      assert.equal(letters.length, 100)
      const codes: Record<string, number> = {}
      for (const letter of letters) codes[letter.code] = (codes[letter.code] ?? 0) + 1
      assert.deepEqual(codes, expectedCodes)
      assert.ok(letters.every((l: any) => typeof l.reason === 'string' && l.reason.length > 0 && l.payload.length > 0))
      for (let d = 0; d < 50; d++) {
        const stored = await within(5000, async () => {
          const list = await readingsOf('sensor', `bulk-${d}`, 1000)
          return list?.length === 18 ? list : undefined
        })
        assert.deepEqual(stored.map(r => r.temperature), [18, 17, 16, 15, 14, 13, 12, 11, 10, 8, 7, 6, 5, 4, 3, 2, 1, 0], 'newest first')
      }
      const counters = (await stack.running.backend.deadLetters.counters())
      assert.equal(counters['rejected:BRIDGE_ERR_PAYLOAD_NOT_JSON'], expectedCodes.BRIDGE_ERR_PAYLOAD_NOT_JSON)
      assert.doesNotMatch(stack.logs.text(), /not json|warm|yesterday/, 'payloads are never logged')
    })
  })
}

describe('readings forwarded to an external temps API', () => {
  let recorder: TempsRecorder
  let stack: TestStack
  const clients: MqttClient[] = []

  let temp: { dir: string, remove: () => Promise<void> }

  before(async () => {
    // The recorder trusts the demo organisation's client certificates, and that organisation is made by the
    // first start: start once to create it, then again with the bridge pointed at the recorder.
    temp = await makeTempDir('external-temps')
    const first = await startTestStack({}, temp.dir)
    await first.running.close()
    recorder = await startTempsRecorder(first.caPem)
    stack = await startTestStack({ MQGATE_TEMPS_URL: recorder.url, MQGATE_TEMPS_CA_FILE: recorder.caFile }, temp.dir)
  })
  after(async () => {
    await endAll(...clients)
    await stack.close()
    await recorder.close()
    await temp.remove()
  })

  it('POSTs the seed\'s body with the device identity, over mTLS with the bridge\'s certificate, within a second', async () => {
    const sensor = await connect({ port: stack.mqttPort, caPem: stack.caPem, cert: stack.issue('d:sensor:ext-1'), clientId: 'd:demo:sensor:ext-1', skipServerNameCheck: true })
    clients.push(sensor)
    const published = Date.now()
    await sensor.publishAsync('iot-2/evt/temp/fmt/json', JSON.stringify(READING), { qos: 1 })
    const post = await within(1000, async () => recorder.posts.find(p => p.body?.device === 'd:demo:sensor:ext-1'))
    assert.ok(Date.now() - published <= 1000)
    assert.deepEqual(post.body, { ...READING, device: 'd:demo:sensor:ext-1' })
    assert.equal(post.headers['x-device-id'], 'd:demo:sensor:ext-1')
    assert.equal(post.clientCn, 'a:mqgate-bridge')
    // Made on the event loop at the first forward: an RSA key stalled the process for hundreds of ms.
    assert.equal(post.clientKeyType, 'ec')
    assert.equal(post.path, '/temps')
  })

  it('dead-letters a reading the temps API refuses with 4xx, with its answer, and does not retry it', async () => {
    recorder.answerWith(422)
    try {
      const sensor = await connect({ port: stack.mqttPort, caPem: stack.caPem, cert: stack.issue('d:sensor:ext-refused'), clientId: 'd:demo:sensor:ext-refused', skipServerNameCheck: true })
      clients.push(sensor)
      await sensor.publishAsync('iot-2/evt/temp/fmt/json', JSON.stringify(READING), { qos: 1 })
      const letter = await within(2000, async () => (await stack.running.backend.deadLetters.list(10)).find(l => l.deviceId === 'ext-refused'))
      assert.equal(letter.code, 'BRIDGE_ERR_TEMPS_API_REFUSED')
      assert.equal(letter.status, 422)
      assert.match(letter.response ?? '', /told to fail/)
      const retried = (await stack.running.backend.deadLetters.counters()).retried ?? 0
      await new Promise(resolve => setTimeout(resolve, 1500))
      assert.equal((await stack.running.backend.deadLetters.counters()).retried ?? 0, retried)
    } finally {
      recorder.answerWith(201)
    }
  })
})

function readAdminCa (stack: TestStack): string {
  return readFileSync(path.join(stack.dataDir, 'admin', 'ca.pem'), 'utf8')
}
