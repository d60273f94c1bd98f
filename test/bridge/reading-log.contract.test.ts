import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import { MemoryReadingLog, type LogEntry, type ReadingLog, type ReadingMessage } from '../../bridge/reading-log.js'
import { RedisReadingLog } from '../../bridge/redis-reading-log.js'
import { startTestRedis, type TestRedis } from '../support/redis-server.js'

interface LogFactory {
  readonly name: string
  setUp (): Promise<void>
  /** Forgets every entry and group state, so each test starts from an empty log. */
  reset (): Promise<void>
  tearDown (): Promise<void>
  /** A new, empty log for one test. */
  open (): ReadingLog
  /**
   * Another handle on the log `open` returned last, as a restarted bridge
   * process opens it; undefined when the log does not outlive its process.
   */
  readonly reopen?: () => ReadingLog
  /** How many entries the backend still keeps (to see what trim dropped). */
  retained (log: ReadingLog): Promise<number>
  /** Closes every log and connection opened since the last call. */
  closeAll (): Promise<void>
}

function memoryLogs (): LogFactory {
  const logs: ReadingLog[] = []
  return {
    name: 'memory',
    setUp: async () => {},
    reset: async () => {},
    tearDown: async () => {},
    open: () => {
      const log = new MemoryReadingLog()
      logs.push(log)
      return log
    },
    // The in-memory log dies with its process: there is nothing to restart onto.
    reopen: undefined,
    // No public way to count what the log keeps: this peeks at the private list.
    retained: async log => (log as unknown as { entries: unknown[] }).entries.length,
    closeAll: async () => { for (const log of logs.splice(0)) await log.close() }
  }
}

function redisLogs (): LogFactory {
  let server: TestRedis
  let admin: Redis
  const opened: Array<{ log: ReadingLog, redis: Redis }> = []
  const open = (): ReadingLog => {
    const redis = server.connect()
    const log = new RedisReadingLog(redis)
    opened.push({ log, redis })
    return log
  }
  return {
    name: 'Redis',
    setUp: async () => {
      server = await startTestRedis()
      admin = server.connect()
    },
    // FLUSHALL on the private redis-server of this file only.
    reset: async () => { await admin.flushall() },
    tearDown: async () => {
      await admin.quit()
      await server.stop()
    },
    open,
    reopen: open,
    retained: async () => await admin.xlen('mqgate:readings:stream'),
    closeAll: async () => {
      for (const { log, redis } of opened.splice(0)) {
        await log.close()
        await redis.quit()
      }
    }
  }
}

const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

let sequence = 0
/** Every payload appended, by its entry id. */
const sent = new Map<string, Buffer>()

/** A distinct message (device and receivedAt differ each time); its payload a reading unless given. */
function message (payload?: Buffer): ReadingMessage {
  const n = ++sequence
  return { orgId: 'acme', typeId: 'sensor', deviceId: `d${n}`, payload: payload ?? Buffer.from(`{"temperature":${n},"time":"2020-09-28T02:54:56Z"}`), receivedAt: 1_601_261_696_000 + n }
}

async function append (log: ReadingLog, m: ReadingMessage = message()): Promise<string> {
  const id = await log.append(m)
  sent.set(id, m.payload)
  return id
}

async function appendAll (log: ReadingLog, count: number): Promise<string[]> {
  const ids: string[] = []
  for (let i = 0; i < count; i++) ids.push(await append(log))
  return ids
}

/** Each entry's payload is the one appended under its id. */
function assertPayloads (entries: readonly LogEntry[]): void {
  for (const entry of entries) assert.ok(entry.payload.equals(sent.get(entry.id) ?? Buffer.from('never appended')), `payload of ${entry.id} differs`)
}

const idsOf = (entries: readonly LogEntry[]): string[] => entries.map(e => e.id)
const deliveriesOf = (entries: readonly LogEntry[]): number[] => entries.map(e => e.deliveries)

for (const factory of [memoryLogs(), redisLogs()]) {
  describe(`bridge: reading log contract on ${factory.name}`, () => {
    let log: ReadingLog

    before(async () => await factory.setUp())
    after(async () => await factory.tearDown())
    beforeEach(async () => {
      await factory.reset()
      log = factory.open()
    })
    afterEach(async () => await factory.closeAll())

    it('hands out no more work once closed, so that a step outliving its stage opens nothing', async () => {
      await append(log)
      await log.close()
      await assert.rejects(log.read('store', 'late', 10, 100), { code: 'BRIDGE_ERR_CLOSED' })
    })

    it('gives each appended entry its own id', async () => {
      const ids = await appendAll(log, 5)
      assert.equal(new Set(ids).size, 5)
      for (const id of ids) assert.equal(typeof id, 'string')
    })

    it('hands an entry with its fields as appended and its payload byte for byte', async () => {
      const payloads = [
        Buffer.from([0x00, 0xff, 0xfe, 0x80, 0xc3, 0x28, 0x0a, 0x0d, 0x00]),
        Buffer.from('{"temperature":36.6,"time":"2020-09-28T02:54:56Z","note":"h\u00e9t\u00e9 \u2603"}'),
        Buffer.alloc(0),
        randomBytes(16 * 1024)
      ]
      const messages = payloads.map(p => message(p))
      const ids: string[] = []
      for (const m of messages) ids.push(await append(log, m))
      const entries = await log.read('store', 'a', 10, 0)
      assert.deepEqual(entries.map(({ id, orgId, typeId, deviceId, receivedAt, deliveries }) => ({ id, orgId, typeId, deviceId, receivedAt, deliveries })),
        messages.map((m, i) => ({ id: ids[i], orgId: m.orgId, typeId: m.typeId, deviceId: m.deviceId, receivedAt: m.receivedAt, deliveries: 1 })))
      for (const [i, entry] of entries.entries()) {
        assert.ok(Buffer.isBuffer(entry.payload))
        assert.ok(entry.payload.equals(payloads[i]), `payload ${i} differs`)
      }
    })

    it('hands entries in the order they were appended, at most `count` at a time', async () => {
      const ids = await appendAll(log, 5)
      assert.deepEqual(idsOf(await log.read('store', 'a', 2, 0)), ids.slice(0, 2))
      assert.deepEqual(idsOf(await log.read('store', 'a', 2, 0)), ids.slice(2, 4))
      assert.deepEqual(idsOf(await log.read('store', 'a', 2, 0)), ids.slice(4))
      assert.deepEqual(await log.read('store', 'a', 2, 0), [])
    })

    it('hands an entry to one consumer of a group only', async () => {
      const ids = await appendAll(log, 2)
      assert.deepEqual(idsOf(await log.read('store', 'a', 10, 0)), ids)
      assert.deepEqual(await log.read('store', 'b', 10, 0), [])
      const later = await append(log)
      assert.deepEqual(idsOf(await log.read('store', 'b', 10, 0)), [later])
      assert.deepEqual(await log.read('store', 'a', 10, 0), [])
    })

    it('hands every entry to each group independently', async () => {
      const ids = await appendAll(log, 3)
      const stored = await log.read('store', 'a', 10, 0)
      assert.deepEqual(idsOf(stored), ids)
      await log.ack('store', ids)
      const forwarded = await log.read('forward', 'a', 10, 0)
      assert.deepEqual(idsOf(forwarded), ids)
      assert.deepEqual(deliveriesOf(forwarded), [1, 1, 1])
    })

    it('keeps an entry acknowledged in one group pending in the other', async () => {
      const ids = await appendAll(log, 2)
      await log.read('store', 'a', 10, 0)
      await log.read('forward', 'a', 10, 0)
      await log.ack('store', ids)
      assert.deepEqual(await log.claim('store', 'b', () => 0, 10), [])
      assert.deepEqual(idsOf(await log.claim('forward', 'b', () => 0, 10)), ids)
    })

    it('does not hand again by read an entry the consumer holds unacknowledged', async () => {
      const [first] = await appendAll(log, 1)
      assert.deepEqual(idsOf(await log.read('store', 'a', 10, 0)), [first])
      const second = await append(log)
      assert.deepEqual(idsOf(await log.read('store', 'a', 10, 0)), [second])
      assert.deepEqual(await log.read('store', 'a', 10, 0), [])
    })

    it('starts a consumer\'s first read with the entries it already holds, once', async () => {
      const ids = await appendAll(log, 2)
      await log.read('store', 'a', 10, 0)
      // b has not read yet: the claimed entries are its own when it first reads.
      assert.deepEqual(deliveriesOf(await log.claim('store', 'b', () => 0, 10)), [2, 2])
      const later = await append(log)
      const resumed = await log.read('store', 'b', 10, 0)
      assert.deepEqual(idsOf(resumed), ids)
      assert.deepEqual(deliveriesOf(resumed), [3, 3])
      assert.deepEqual(idsOf(await log.read('store', 'b', 10, 0)), [later])
      assert.deepEqual(await log.read('store', 'b', 10, 0), [])
    })

    it('resumes, after a restart, the entries a consumer held unacknowledged', async function () {
      if (factory.reopen === undefined) this.skip()
      const ids = await appendAll(log, 4)
      assert.deepEqual(idsOf(await log.read('forward', 'a', 1, 0)), [ids[0]])
      assert.deepEqual(idsOf(await log.read('forward', 'b', 1, 0)), [ids[1]])
      assert.deepEqual(idsOf(await log.read('forward', 'a', 2, 0)), [ids[2], ids[3]])
      await log.ack('forward', [ids[2]])
      const restarted = factory.reopen()
      const later = await append(restarted)
      const resumed = await restarted.read('forward', 'a', 10, 0)
      assert.deepEqual(idsOf(resumed), [ids[0], ids[3]], 'its own unacknowledged entries, not b\'s')
      assert.deepEqual(deliveriesOf(resumed), [2, 2])
      assertPayloads(resumed)
      assert.deepEqual(idsOf(await restarted.read('forward', 'a', 10, 0)), [later])
      assert.deepEqual(await restarted.read('forward', 'a', 10, 0), [])
    })

    it('claims an entry pending at least waitFor(deliveries), counting the delivery', async () => {
      const [id] = await appendAll(log, 1)
      await log.read('forward', 'a', 10, 0)
      const asked: number[] = []
      // A second: a stall of the machine between two calls must not make the entry look idle.
      const waitFor = (deliveries: number): number => { asked.push(deliveries); return 1000 }
      assert.deepEqual(await log.claim('forward', 'b', waitFor, 10), [], 'not idle long enough yet')
      await sleep(1100)
      const claimed = await log.claim('forward', 'b', waitFor, 10)
      assert.deepEqual(idsOf(claimed), [id])
      assert.deepEqual(deliveriesOf(claimed), [2])
      assert.deepEqual([...new Set(asked)], [1])
      assert.deepEqual(await log.claim('forward', 'c', waitFor, 10), [], 'a claim starts the idle time again')
      assert.deepEqual(deliveriesOf(await log.claim('forward', 'c', () => 0, 10)), [3])
    })

    it('claims the pending entries of any consumer of the group, with their payload', async () => {
      const ids = await appendAll(log, 2)
      await log.read('store', 'a', 1, 0)
      await log.read('store', 'b', 1, 0)
      const claimed = await log.claim('store', 'c', () => 0, 10)
      assert.deepEqual(idsOf(claimed).sort(), [...ids].sort())
      assertPayloads(claimed)
    })

    it('claims at most `count` entries', async () => {
      await appendAll(log, 5)
      await log.read('store', 'a', 10, 0)
      assert.equal((await log.claim('store', 'b', () => 0, 2)).length, 2)
    })

    it('never claims an acknowledged entry', async () => {
      const ids = await appendAll(log, 3)
      await log.read('store', 'a', 10, 0)
      await log.ack('store', [ids[0], ids[2]])
      assert.deepEqual(idsOf(await log.claim('store', 'b', () => 0, 10)), [ids[1]])
      await log.ack('store', [ids[1]])
      assert.deepEqual(await log.claim('store', 'b', () => 0, 10), [])
    })

    it('never claims an entry nobody has read yet', async () => {
      await appendAll(log, 2)
      assert.deepEqual(await log.claim('store', 'b', () => 0, 10), [])
    })

    it('waits up to blockMs for an entry when none is new', async () => {
      const started = Date.now()
      assert.deepEqual(await log.read('store', 'a', 10, 300), [])
      const elapsed = Date.now() - started
      assert.ok(elapsed >= 250, `returned after ${elapsed} ms`)
      assert.ok(elapsed < 3000, `returned after ${elapsed} ms`)
    })

    it('does not wait when blockMs is 0', async () => {
      const started = Date.now()
      assert.deepEqual(await log.read('store', 'a', 10, 0), [])
      assert.ok(Date.now() - started < 1000, `returned after ${Date.now() - started} ms`)
    })

    it('wakes a waiting read as soon as an entry is appended', async () => {
      const blockMs = 2000
      const started = Date.now()
      const reading = log.read('store', 'a', 10, blockMs)
      await sleep(100)
      const id = await append(log)
      const entries = await reading
      const elapsed = Date.now() - started
      assert.deepEqual(idsOf(entries), [id])
      assert.ok(elapsed < blockMs / 2, `returned after ${elapsed} ms`)
    })

    it('trims the entries every group has acknowledged, and hands only new ones after', async () => {
      const ids = await appendAll(log, 3)
      for (const group of ['store', 'forward']) {
        assert.deepEqual(idsOf(await log.read(group, 'a', 10, 0)), ids)
        await log.ack(group, ids)
      }
      assert.equal(await factory.retained(log), 3)
      await log.trim()
      assert.equal(await factory.retained(log), 0)
      const later = await append(log)
      for (const group of ['store', 'forward']) {
        assert.deepEqual(idsOf(await log.read(group, 'b', 10, 0)), [later])
        await log.ack(group, [later])
        assert.deepEqual(await log.read(group, 'b', 10, 0), [])
        assert.deepEqual(await log.claim(group, 'b', () => 0, 10), [])
      }
    })

    it('keeps through trim an entry pending in one group, which can still be claimed', async () => {
      const ids = await appendAll(log, 3)
      for (const group of ['store', 'forward']) await log.read(group, 'a', 10, 0)
      await log.ack('store', ids)
      await log.ack('forward', [ids[0], ids[2]])
      await log.trim()
      assert.ok(await factory.retained(log) >= 1)
      const claimed = await log.claim('forward', 'b', () => 0, 10)
      assert.deepEqual(idsOf(claimed), [ids[1]])
      assertPayloads(claimed)
      assert.deepEqual(await log.claim('store', 'b', () => 0, 10), [])
    })

    // Issue 18: the temps API refusing one reading for a while (left pending in
    // `forward`) while it accepts a newer one; after trim the in-memory log counted
    // a lag of -1 and never waited again, spinning the bridge at 100 % CPU.
    it('never reports a negative lag after trim keeps only an older pending entry', async () => {
      const ids = await appendAll(log, 2)
      for (const group of ['store', 'forward']) await log.read(group, 'a', 10, 0)
      await log.ack('store', ids)
      await log.ack('forward', [ids[1]])
      await log.trim()
      for (const { group, lag } of await log.stats()) assert.equal(lag, 0, `lag of ${group}`)
      const later = await append(log)
      const forward = (await log.stats()).find(s => s.group === 'forward')
      assert.deepEqual({ pending: forward?.pending, lag: forward?.lag }, { pending: 1, lag: 1 })
      assert.deepEqual(idsOf(await log.read('forward', 'a', 10, 0)), [later])
    })

    it('still waits blockMs in read after trim kept only an older pending entry', async () => {
      const ids = await appendAll(log, 2)
      for (const group of ['store', 'forward']) await log.read(group, 'a', 10, 0)
      await log.ack('store', ids)
      await log.ack('forward', [ids[1]])
      await log.trim()
      const started = Date.now()
      assert.deepEqual(await log.read('forward', 'a', 10, 300), [])
      const elapsed = Date.now() - started
      assert.ok(elapsed >= 250, `read returned after ${elapsed} ms: nothing was new, it must wait`)
    })

    it('keeps through trim the entries a group has not read yet', async () => {
      const ids = await appendAll(log, 3)
      await log.read('store', 'a', 10, 0)
      await log.ack('store', ids)
      await log.trim()
      assert.equal(await factory.retained(log), 3)
      const unread = await log.read('forward', 'a', 10, 0)
      assert.deepEqual(idsOf(unread), ids)
      assertPayloads(unread)
    })
  })
}
