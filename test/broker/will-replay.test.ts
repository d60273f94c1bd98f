import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import type { MqttClient } from 'mqtt'
import pino from 'pino'
import { MQTT_KEY_PREFIX } from '../../broker/index.js'
import { openRegistry, revokeCert } from '../../certs/index.js'
import { startMqgateProcess, type MqgateProcess } from '../support/mqgate-process.js'
import { collect, connect, endAll, sleep } from '../support/mqtt-client.js'
import type { TestCert } from '../support/pki.js'
import { redisServerAvailable, startTestRedis, type TestRedis } from '../support/redis-server.js'
import { within } from '../support/stack.js'
import { makeTempDir } from '../support/temp-dir.js'
import { TEST_KEK, testKeyRing } from '../support/kek.js'
import { serverNameOf } from '../../access/index.js'

// aedes' heartbeatInterval: a broker silent for 3 of them is dead, and every 4
// the live ones replay the Wills it left in Redis (1 s here instead of 60 s).
const HEARTBEAT_MS = 1000
const WILL_TOPIC = 'iot-2/evt/status/fmt/json'

// Issue 18, item 1: a stored Will whose owner was revoked while its broker was
// down was refused at replay, and the refusal escaped aedes' _clearWills as an
// unhandled rejection: the broker died, the Will stayed in Redis, every restart
// died again, and no other stored Will was ever delivered.
describe('broker: Wills left in Redis by a broker that was killed', function () {
  this.timeout(90_000)
  let redis: TestRedis
  let temp: { dir: string, remove: () => Promise<void> }
  const brokers: MqgateProcess[] = []
  const clients: MqttClient[] = []

  before(async function () {
    if (!redisServerAvailable()) this.skip()
    redis = await startTestRedis()
    temp = await makeTempDir('will-replay')
  })
  after(async () => {
    await endAll(...clients)
    for (const broker of brokers) await broker.stop()
    await redis?.stop()
    await temp?.remove()
  })

  const start = async (): Promise<MqgateProcess> => {
    const broker = await startMqgateProcess({ REDIS_URL: redis.url, MQGATE_KEK: TEST_KEK, MQGATE_BROKER_HEARTBEAT_MS: String(HEARTBEAT_MS) }, { dataDir: temp.dir, args: ['--workers', '1'] })
    brokers.push(broker)
    return broker
  }
  const client = async (broker: MqgateProcess, cert: TestCert, clientId: string, extra: { clean?: boolean, will?: { topic: string, payload: Buffer, qos: 1, retain: false } } = {}): Promise<MqttClient> => {
    const c = await connect({ port: broker.mqttPort, caPem: broker.caPem, cert, clientId, skipServerNameCheck: true, ...extra })
    clients.push(c)
    return c
  }

  it('refuses the Will of a device revoked meanwhile, deletes it, delivers the others and stays up', async () => {
    const first = await start()
    const appCert = first.bootstrap('a:demo-app')
    const revoked = await first.issue('d:sensor:revoked-meanwhile')
    const kept = await first.issue('d:sensor:still-trusted')
    // A persistent session: the replayed Wills wait for the application in Redis.
    const app = await client(first, appCert, 'a:demo:demo-app', { clean: false })
    await app.subscribeAsync('iot-2/type/sensor/id/+/evt/status/fmt/json', { qos: 1 })
    await endAll(app)
    const will = (id: string): { topic: string, payload: Buffer, qos: 1, retain: false } => ({ topic: WILL_TOPIC, payload: Buffer.from(JSON.stringify({ gone: id })), qos: 1, retain: false })
    await client(first, revoked, 'd:demo:sensor:revoked-meanwhile', { will: will('revoked-meanwhile') })
    await client(first, kept, 'd:demo:sensor:still-trusted', { will: will('still-trusted') })
    const admin = redis.connect()
    try {
      assert.equal((await admin.keys(`${MQTT_KEY_PREFIX}will:*`)).length, 2, 'both Wills are stored in Redis')
      first.child.kill('SIGKILL')
      await new Promise(resolve => first.child.once('exit', resolve))
      await endAll(...clients.splice(0))

      // Revoked while no broker runs: only the replay check can catch it.
      const registry = await openRegistry({ dataDir: temp.dir, redisUrl: redis.url, serverNameFor: orgId => serverNameOf(orgId, 'localhost'), log: pino({ level: 'silent' }), keys: testKeyRing() })
      try {
        const fingerprint = new X509Certificate(revoked.certPem).fingerprint256.replaceAll(':', '').toLowerCase()
        await revokeCert(registry, 'demo', fingerprint, 'test')
      } finally {
        await registry.close()
      }

      const second = await start()
      const back = await client(second, appCert, 'a:demo:demo-app', { clean: false })
      const inbox = collect(back)
      await within(15_000, async () => (await admin.keys(`${MQTT_KEY_PREFIX}will:*`)).length === 0 ? true : undefined)
        .catch(() => { throw new Error(`the stored Wills are still in Redis (broker ${second.alive() ? 'alive' : 'dead'})`) })
      const message = await inbox.next(10_000)
      assert.equal(message.topic, 'iot-2/type/sensor/id/still-trusted/evt/status/fmt/json')
      assert.deepEqual(JSON.parse(message.payload), { gone: 'still-trusted' })
      // Several replay rounds later: nothing else came, and the broker is still up.
      await sleep(6 * HEARTBEAT_MS)
      assert.deepEqual(inbox.messages.map(m => m.topic), ['iot-2/type/sensor/id/still-trusted/evt/status/fmt/json'], 'the revoked device\'s Will is never delivered')
      assert.ok(second.alive(), `the broker exited (${String(second.child.exitCode ?? second.child.signalCode)})`)
      const probe = await client(second, appCert, 'a:demo:demo-app:2')
      await probe.subscribeAsync('iot-2/type/sensor/id/+/evt/status/fmt/json', { qos: 0 })
    } finally {
      admin.disconnect()
    }
  })
})
