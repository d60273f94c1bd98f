import assert from 'node:assert/strict'
import type { Redis } from 'ioredis'
import { parseReading, type Reading } from '../../bridge/reading.js'
import { MemoryReadingStore, type DeviceKey, type ReadingStore } from '../../bridge/reading-store.js'
import { RedisReadingStore } from '../../bridge/redis-reading-store.js'
import { startTestRedis, type TestRedis } from '../support/redis-server.js'

interface StoreFactory {
  readonly name: string
  setUp (): Promise<void>
  /** Forgets every reading, so each test starts from an empty store. */
  reset (): Promise<void>
  tearDown (): Promise<void>
  /** A store keeping the newest `cap` readings of each device. */
  open (cap?: number): ReadingStore
}

function memoryStores (): StoreFactory {
  return {
    name: 'memory',
    setUp: async () => {},
    reset: async () => {},
    tearDown: async () => {},
    open: cap => new MemoryReadingStore(cap)
  }
}

function redisStores (): StoreFactory {
  let server: TestRedis
  let redis: Redis
  return {
    name: 'Redis',
    setUp: async () => {
      server = await startTestRedis()
      redis = server.connect()
    },
    // FLUSHALL on the private redis-server of this file only.
    reset: async () => { await redis.flushall() },
    tearDown: async () => {
      await redis.quit()
      await server.stop()
    },
    open: cap => new RedisReadingStore(redis, cap)
  }
}

const acme: DeviceKey = { orgId: 'acme', typeId: 'sensor', deviceId: 'd1' }

function reading (device: DeviceKey, temperature: number | string, time: string): Reading {
  return parseReading(device, JSON.stringify({ temperature, time }))
}

/** The times `latest` returns, newest first. */
async function timesOf (store: ReadingStore, device: DeviceKey, limit = 100): Promise<string[] | undefined> {
  return (await store.latest(device, limit))?.map(r => r.time)
}

for (const factory of [memoryStores(), redisStores()]) {
  describe(`bridge: reading store contract on ${factory.name}`, () => {
    const stores: ReadingStore[] = []
    const open = (cap?: number): ReadingStore => {
      const store = factory.open(cap)
      stores.push(store)
      return store
    }

    before(async () => await factory.setUp())
    after(async () => await factory.tearDown())
    beforeEach(async () => await factory.reset())
    afterEach(async () => { for (const store of stores.splice(0)) await store.close() })

    it('has no readings for a device that never sent one', async () => {
      const store = open()
      assert.equal(await store.latest(acme, 10), undefined)
      await store.add([])
      assert.equal(await store.latest(acme, 10), undefined)
    })

    it('returns a stored reading as its id, temperature and time as sent', async () => {
      const store = open()
      const sent = reading(acme, '36.5', '2020-09-28T04:54:56.5+02:00')
      await store.add([sent])
      assert.deepEqual(await store.latest(acme, 10), [{ id: sent.id, temperature: 36.5, time: '2020-09-28T04:54:56.5+02:00' }])
    })

    it('returns a temperature of 0', async () => {
      const store = open()
      await store.add([reading(acme, 0, '2020-09-28T02:54:56Z')])
      assert.deepEqual((await store.latest(acme, 10))?.map(r => r.temperature), [0])
    })

    it('returns the newest reading first by its time, not by the order of arrival', async () => {
      const store = open()
      await store.add([reading(acme, 2, '2020-09-28T02:00:00Z'), reading(acme, 4, '2020-09-28T04:00:00Z')])
      await store.add([reading(acme, 1, '2020-09-28T01:00:00Z')])
      await store.add([reading(acme, 3, '2020-09-28T03:00:00Z'), reading(acme, 5, '2020-09-28T05:00:00Z')])
      assert.deepEqual((await store.latest(acme, 10))?.map(r => r.temperature), [5, 4, 3, 2, 1])
    })

    it('orders by the instant, whatever the offset it was written in', async () => {
      const store = open()
      // 03:00+02:00 is 01:00Z: older than 02:00Z although its text sorts after it.
      await store.add([reading(acme, 1, '2020-09-28T03:00:00+02:00'), reading(acme, 2, '2020-09-28T02:00:00Z'), reading(acme, 3, '2020-09-27T23:30:00-04:00')])
      assert.deepEqual(await timesOf(store, acme), ['2020-09-27T23:30:00-04:00', '2020-09-28T02:00:00Z', '2020-09-28T03:00:00+02:00'])
    })

    it('returns at most `limit` readings, the newest', async () => {
      const store = open()
      await store.add([1, 2, 3, 4, 5].map(h => reading(acme, h, `2020-09-28T0${h}:00:00Z`)))
      assert.deepEqual((await store.latest(acme, 2))?.map(r => r.temperature), [5, 4])
      assert.deepEqual((await store.latest(acme, 1))?.map(r => r.temperature), [5])
    })

    it('stores a reading delivered twice once', async () => {
      const store = open()
      const once = reading(acme, 36.6, '2020-09-28T02:54:56Z')
      await store.add([once, once])
      await store.add([reading(acme, 36.6, '2020-09-28T02:54:56Z')])
      assert.deepEqual(await store.latest(acme, 10), [{ id: once.id, temperature: 36.6, time: '2020-09-28T02:54:56Z' }])
    })

    it('stores once a reading whose instant is written two ways (the same id)', async () => {
      const store = open()
      const first = reading(acme, 36.6, '2020-09-28T02:54:56Z')
      const again = reading(acme, 36.6, '2020-09-28T02:54:56.000Z')
      assert.equal(first.id, again.id)
      await store.add([first])
      await store.add([again])
      assert.deepEqual((await store.latest(acme, 10))?.map(r => r.id), [first.id])
    })

    it('keeps two readings of the same time with different temperatures', async () => {
      const store = open()
      await store.add([reading(acme, 1, '2020-09-28T02:54:56Z'), reading(acme, 2, '2020-09-28T02:54:56Z')])
      assert.deepEqual((await store.latest(acme, 10))?.map(r => r.temperature).sort(), [1, 2])
    })

    it('keeps the readings of different devices, types and organisations apart', async () => {
      const store = open()
      const devices: DeviceKey[] = [
        acme,
        { orgId: 'acme', typeId: 'sensor', deviceId: 'd2' },
        { orgId: 'acme', typeId: 'probe', deviceId: 'd1' },
        { orgId: 'globex', typeId: 'sensor', deviceId: 'd1' }
      ]
      await store.add(devices.map((device, i) => reading(device, i, '2020-09-28T02:54:56Z')))
      for (const [i, device] of devices.entries()) {
        assert.deepEqual((await store.latest(device, 10))?.map(r => r.temperature), [i], JSON.stringify(device))
      }
      assert.equal(await store.latest({ orgId: 'initech', typeId: 'sensor', deviceId: 'd1' }, 10), undefined)
    })

    it('keeps only the newest `cap` readings of a device', async () => {
      const store = open(3)
      await store.add([3, 1, 5].map(h => reading(acme, h, `2020-09-28T0${h}:00:00Z`)))
      await store.add([reading(acme, 4, '2020-09-28T04:00:00Z')])
      await store.add([reading(acme, 2, '2020-09-28T02:00:00Z')])
      assert.deepEqual((await store.latest(acme, 10))?.map(r => r.temperature), [5, 4, 3])
      await store.add([reading(acme, 6, '2020-09-28T06:00:00Z')])
      assert.deepEqual((await store.latest(acme, 10))?.map(r => r.temperature), [6, 5, 4])
    })

    it('keeps `cap` readings for each device separately', async () => {
      const store = open(2)
      const other: DeviceKey = { ...acme, deviceId: 'd2' }
      await store.add([1, 2, 3].map(h => reading(acme, h, `2020-09-28T0${h}:00:00Z`)))
      await store.add([reading(other, 9, '2020-09-28T01:00:00Z')])
      assert.deepEqual((await store.latest(acme, 10))?.map(r => r.temperature), [3, 2])
      assert.deepEqual((await store.latest(other, 10))?.map(r => r.temperature), [9])
    })

    it('stores one batch over several devices each reading once, repeats from within it and from before included, and caps each device', async () => {
      const store = open(2)
      const other: DeviceKey = { ...acme, deviceId: 'd2' }
      const earlier = reading(other, 7, '2020-09-28T07:00:00Z')
      await store.add([earlier])
      const batch = [1, 2, 3].map(h => reading(acme, h, `2020-09-28T0${h}:00:00Z`))
      // The same reading twice in the batch (its instant written two ways), and one stored by an earlier batch.
      await store.add([...batch, reading(acme, 3, '2020-09-28T03:00:00.000Z'), reading(other, 7, '2020-09-28T07:00:00Z'), reading(other, 9, '2020-09-28T09:00:00Z'), reading(other, 8, '2020-09-28T08:00:00Z')])
      assert.deepEqual((await store.latest(acme, 10))?.map(r => r.temperature), [3, 2])
      assert.deepEqual((await store.latest(other, 10))?.map(r => r.temperature), [9, 8])
    })

    it('does not count a reading delivered twice against the cap', async () => {
      const store = open(2)
      const old = reading(acme, 1, '2020-09-28T01:00:00Z')
      const recent = reading(acme, 2, '2020-09-28T02:00:00Z')
      await store.add([old, recent])
      await store.add([recent, recent])
      assert.deepEqual((await store.latest(acme, 10))?.map(r => r.temperature), [2, 1])
    })
  })
}
