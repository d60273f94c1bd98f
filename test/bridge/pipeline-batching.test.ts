import assert from 'node:assert/strict'
import type { Redis } from 'ioredis'
import { managedCaOf } from '../../certs/index.js'
import { runBridge, type RunningProcess } from '../../cli/processes.js'
import { TEST_KEK } from '../support/kek.js'
import { createLogSink } from '../support/log-sink.js'
import { mintCa } from '../support/pki.js'
import { startTestRedis, type TestRedis } from '../support/redis-server.js'
import { within } from '../support/stack.js'
import { makeTempDir } from '../support/temp-dir.js'
import { startTempsRecorder, type TempsRecorder } from '../support/temps-recorder.js'

const STREAM = 'mqgate:readings:stream'
const READINGS = 1000

/** Appends readings to the log as the broker does (bridge/redis-reading-log.ts), `devices` devices in turn. */
async function appendReadings (redis: Redis, orgId: string, count: number, devices: number, from = 0): Promise<void> {
  const pipeline = redis.pipeline()
  for (let n = from; n < from + count; n++) {
    const payload = JSON.stringify({ temperature: n, time: new Date(Date.UTC(2024, 5, 1, 0, 0, 0, n)).toISOString() })
    pipeline.xadd(STREAM, '*', 'o', orgId, 't', 'sensor', 'd', `b${n % devices}`, 'p', Buffer.from(payload).toString('base64'), 'r', String(Date.now()))
  }
  await pipeline.exec()
}

/** Readings the forward stage has not acknowledged yet: pending or not handed out. */
async function forwardBacklog (redis: Redis): Promise<number> {
  const groups = await redis.xinfo('GROUPS', STREAM) as Array<Array<string | number>>
  const info = groups.map(fields => Object.fromEntries(Array.from({ length: fields.length / 2 }, (_, i) => [fields[2 * i], fields[2 * i + 1]]))).find(g => g.name === 'forward')
  return info === undefined ? Infinity : Number(info.pending) + Number(info.lag)
}

/** Calls of each command since the last CONFIG RESETSTAT (INFO commandstats). */
async function commandCalls (redis: Redis): Promise<Record<string, number>> {
  const info = await redis.info('commandstats')
  return Object.fromEntries([...info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)].map(([, name, calls]) => [name, Number(calls)]))
}

// Issue 15: the store ran one script per reading, the forward stage three or four
// commands per reading. Counted by Redis itself, not timed.
describe('bridge: readings are stored and forwarded a batch at a time (Redis)', function () {
  this.timeout(60_000)
  let server: TestRedis
  let redis: Redis
  let temp: { dir: string, remove: () => Promise<void> }
  let recorder: TempsRecorder
  let bridge: RunningProcess | undefined

  before(async () => {
    server = await startTestRedis()
    redis = server.connect()
    temp = await makeTempDir('pipeline-batching')
    recorder = await startTempsRecorder(mintCa('Placeholder CA').certPem)
    bridge = await runBridge({ REDIS_URL: server.url, MQGATE_KEK: TEST_KEK, MQGATE_DATA_DIR: temp.dir, MQGATE_WS_PORT: '0', MQGATE_ADMIN_PORT: '0', MQGATE_TEMPS_URL: recorder.url, MQGATE_TEMPS_CA_FILE: recorder.caFile }, { logger: createLogSink().logger })
    await bridge.registry.createOrg('acme')
    // The bridge's client certificate is issued by the organisation's managed CA.
    await recorder.trust(managedCaOf(bridge.registry.require('acme')).certPem)
  })
  after(async () => {
    await bridge?.close()
    await recorder.close()
    redis.disconnect()
    await server.stop()
    await temp.remove()
  })

  it('stores readings with one script call per batch, each once', async () => {
    await redis.config('RESETSTAT')
    await appendReadings(redis, 'acme', READINGS, 10)
    // One reading twice in the log: a device's QoS 1 redelivery.
    await appendReadings(redis, 'acme', 1, 10)
    const stored = async (): Promise<number> => {
      let sum = 0
      for (let d = 0; d < 10; d++) sum += await redis.zcard(`mqgate:readings:acme:sensor:b${d}`)
      return sum
    }
    await within(20_000, async () => await stored() >= READINGS ? true : undefined)
    await new Promise(resolve => setTimeout(resolve, 200))
    assert.equal(await stored(), READINGS, 'the repeated reading is stored once')
    const calls = await commandCalls(redis)
    const scripts = (calls.evalsha ?? 0) + (calls.eval ?? 0)
    assert.ok(scripts <= 50, `${scripts} script calls for ${READINGS + 1} readings`)
  })

  it('forwards each reading to an external temps API, marking and acknowledging them a round at a time', async () => {
    // What the test before left to forward is done first: its commands are not counted here.
    await within(30_000, async () => (await forwardBacklog(redis)) === 0 ? true : undefined)
    const before = Number(await redis.hget('mqgate:readings:counters', 'forwarded'))
    recorder.posts.splice(0)
    await redis.config('RESETSTAT')
    const count = 200
    await appendReadings(redis, 'acme', count, 4, READINGS)
    await within(30_000, async () => new Set(recorder.posts.map(p => JSON.stringify(p.body))).size === count ? true : undefined)
    await within(10_000, async () => Number(await redis.hget('mqgate:readings:counters', 'forwarded')) === before + count ? true : undefined)
    const calls = await commandCalls(redis)
    // Per reading the stage used to send EXISTS, SET, XACK and HINCRBY of its own.
    assert.equal(calls.exists ?? 0, 0, 'the marks are asked for a batch at once')
    assert.ok((calls.xack ?? 0) < count * 0.75, `${calls.xack} XACKs for ${count} readings stored and forwarded`)
    assert.ok((calls.hincrby ?? 0) < count * 0.75, `${calls.hincrby} HINCRBYs for ${count} readings`)
  })
})
