import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { openSessionStore, type ConsoleSessionStore } from '../../certs/admin-api/console/session-store.js'
import { delayAfter } from '../../certs/admin-api/console/sign-in-throttle.js'
import { startTestRedis, type TestRedis } from '../support/redis-server.js'

/**
 * The console's session stores, both backends: a session lives while used
 * and ends after idling, at removal, and is found only by its own id; in
 * Redis the key is the id's hash, so the store holds no cookie to replay.
 */
const IDLE_MS = 400
const SESSION = Object.freeze({ credential: { operatorId: '0123456789abcdef', tokenHash: 'ab'.repeat(32) }, csrf: 'csrf-token', createdAt: new Date(0).toISOString() })

for (const backend of ['memory', 'Redis'] as const) {
  describe(`console sessions (${backend})`, function () {
    this.timeout(30_000)
    let redis: TestRedis | undefined
    let store: ConsoleSessionStore

    before(async () => {
      redis = backend === 'Redis' ? await startTestRedis() : undefined
      store = openSessionStore({ redisUrl: redis?.url, idleMs: IDLE_MS })
    })
    after(async () => {
      await store?.close()
      await redis?.stop()
    })

    it('keeps a session that is used, and ends it once it idles past the limit', async () => {
      const id = await store.create(SESSION)
      for (let i = 0; i < 4; i++) {
        await sleep(IDLE_MS / 2)
        assert.deepEqual(await store.touch(id), SESSION, `touch ${i}`)
      }
      await sleep(IDLE_MS * 1.5)
      assert.equal(await store.touch(id), undefined)
    })

    it('ends a removed session, and finds none by another id', async () => {
      const id = await store.create(SESSION)
      assert.equal(await store.touch(id.slice(1) + 'A'), undefined)
      assert.equal(await store.touch(''), undefined)
      await store.remove(id)
      assert.equal(await store.touch(id), undefined)
    })

    if (backend === 'Redis') {
      it('keys a session by its id\'s hash: the store holds no session id', async () => {
        const id = await store.create(SESSION)
        const { Redis } = await import('ioredis')
        const client = new Redis(redis?.url as string)
        try {
          const keys = await client.keys('mqgate:console:session:*')
          assert.ok(keys.length > 0 && keys.every(k => !k.includes(id)), keys.join(' '))
        } finally {
          client.disconnect()
        }
      })
    }
  })
}

describe('console sign-in delays', () => {
  const cases: Array<[number, number]> = [[1, 250], [2, 500], [3, 1000], [6, 8000], [50, 8000]]
  for (const [failures, ms] of cases) it(`after ${failures} failures in a row: ${ms} ms`, () => assert.equal(delayAfter(failures), ms))
})
