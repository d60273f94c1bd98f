import assert from 'node:assert/strict'
import { Redis } from 'ioredis'
import { FileOperatorStore, RedisOperatorStore, type OperatorStore, type OrgRegistry } from '../../certs/index.js'
import { OperatorAdmin } from '../../certs/admin-api/operators/operator-admin.js'
import { createLogSink } from '../support/log-sink.js'
import { startTestRedis, type TestRedis } from '../support/redis-server.js'
import { makeTempDir } from '../support/temp-dir.js'

/**
 * Issue 14: an operator's name is unique at the store, not only in one
 * process: two admin APIs sharing a store (workers of `mqgate start`, two
 * processes on one Redis) racing creates of one name make one operator.
 */

interface Backend {
  readonly name: string
  setUp (): Promise<void>
  tearDown (): Promise<void>
  /** A new store over the same data, as another process opens it. */
  open (): OperatorStore
}

function fileBackend (): Backend {
  let temp: { dir: string, remove: () => Promise<void> }
  return {
    name: 'files under the data dir',
    setUp: async () => { temp = await makeTempDir('operator-names') },
    tearDown: async () => await temp.remove(),
    open: () => new FileOperatorStore(temp.dir)
  }
}

function redisBackend (): Backend {
  let redis: TestRedis
  return {
    name: 'Redis',
    setUp: async () => { redis = await startTestRedis() },
    tearDown: async () => await redis.stop(),
    open: () => new RedisOperatorStore(new Redis(redis.url))
  }
}

// Admins take no organisation: validate() never asks the registry.
const NO_REGISTRY = {} as unknown as OrgRegistry

for (const backend of [fileBackend(), redisBackend()]) {
  describe(`operator names unique at the store (${backend.name})`, function () {
    this.timeout(60_000)
    let stores: OperatorStore[]
    let admins: OperatorAdmin[]

    beforeEach(async () => {
      await backend.setUp()
      stores = [backend.open(), backend.open()]
      admins = stores.map(store => new OperatorAdmin(store, NO_REGISTRY, createLogSink().logger))
    })
    afterEach(async () => {
      for (const store of stores) await store.close()
      await backend.tearDown()
    })

    it('lets exactly one of many racing creates of one name through two admins win; the rest get ADMIN_ERR_OPERATOR_EXISTS', async () => {
      for (let round = 0; round < 5; round++) {
        const name = `raced-${round}`
        const outcomes = await Promise.allSettled(Array.from({ length: 16 }, async (_, i) => await admins[i % 2].create(name, 'admin', [], 'test')))
        const won = outcomes.filter(o => o.status === 'fulfilled')
        assert.equal(won.length, 1, `round ${round}: ${won.length} creates won`)
        for (const lost of outcomes.filter(o => o.status === 'rejected')) assert.equal((lost as PromiseRejectedResult).reason.code, 'ADMIN_ERR_OPERATOR_EXISTS')
        const active = (await stores[0].list()).filter(r => r.name === name && r.revokedAt === undefined)
        assert.equal(active.length, 1, `round ${round}: ${active.length} active records`)
      }
    })

    it('frees the name on revoke, for either admin', async () => {
      await admins[0].create('again', 'admin', [], 'test')
      await assert.rejects(admins[1].create('again', 'admin', [], 'test'), { code: 'ADMIN_ERR_OPERATOR_EXISTS' })
      await admins[1].revoke('again', 'test')
      assert.equal(await stores[0].nameHolder('again'), undefined)
      await admins[0].create('again', 'admin', [], 'test')
      assert.equal((await stores[1].list()).filter(r => r.name === 'again' && r.revokedAt === undefined).length, 1)
    })

    it('keeps an operator of a store from before the name index: its name is taken', async () => {
      await stores[0].put({ id: '0123456789abcdef', name: 'legacy', role: 'admin', orgs: [], tokenHash: '00'.repeat(32), createdAt: '2024-01-01T00:00:00.000Z' })
      await assert.rejects(admins[1].create('legacy', 'admin', [], 'test'), { code: 'ADMIN_ERR_OPERATOR_EXISTS' })
      await admins[0].revoke('legacy', 'test')
      await admins[1].create('legacy', 'admin', [], 'test')
    })

    it('takes over a name whose holder was revoked without releasing it (a crash between the two writes)', async () => {
      await admins[0].create('stale', 'admin', [], 'test')
      const [record] = (await stores[0].list()).filter(r => r.name === 'stale')
      await stores[0].put({ ...record, revokedAt: new Date().toISOString() })
      await admins[1].create('stale', 'admin', [], 'test')
      assert.equal((await stores[0].list()).filter(r => r.name === 'stale' && r.revokedAt === undefined).length, 1)
    })
  })
}
