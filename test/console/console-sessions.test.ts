import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Credential } from '../../certs/admin-api/authentication.js'
import { openSessionStore, type ConsoleSession, type ConsoleSessionStore } from '../../certs/admin-api/console/session-store.js'
import { delayAfter } from '../../certs/admin-api/console/sign-in-throttle.js'
import { startTestRedis, type TestRedis } from '../support/redis-server.js'

/**
 * The console's session stores, both backends: a session lives while used
 * and ends after idling (a peek, what a polled fragment does, is no use), at
 * removal, and once too old however busy; it is found only by its own id; an
 * operator holds at most a few sessions, a new one ending that operator's
 * oldest and nobody else's; in Redis the key is the id's hash, so the store
 * holds no cookie to replay.
 */
const IDLE_MS = 400
const MAX_AGE_MS = 1500
const PER_OPERATOR = 3
const ALICE = { operatorId: '0123456789abcdef', tokenHash: 'ab'.repeat(32) }
/** The bootstrap token's credential: no operator record, its sessions count together. */
const BOOTSTRAP = { operatorId: undefined, tokenHash: 'cd'.repeat(32) }

function sessionOf (credential: Credential = ALICE): ConsoleSession {
  return Object.freeze({ credential, csrf: 'csrf-token', createdAt: new Date().toISOString() })
}

for (const backend of ['memory', 'Redis'] as const) {
  describe(`console sessions (${backend})`, function () {
    this.timeout(30_000)
    let redis: TestRedis | undefined
    let store: ConsoleSessionStore

    before(async () => {
      redis = backend === 'Redis' ? await startTestRedis() : undefined
      store = openSessionStore({ redisUrl: redis?.url, idleMs: IDLE_MS, maxAgeMs: MAX_AGE_MS, perOperator: PER_OPERATOR })
    })
    after(async () => {
      await store?.close()
      await redis?.stop()
    })

    it('keeps a session that is used, and ends it once it idles past the limit', async () => {
      const session = sessionOf()
      const id = await store.create(session)
      for (let i = 0; i < 4; i++) {
        await sleep(IDLE_MS / 2)
        assert.deepEqual(await store.touch(id), session, `touch ${i}`)
      }
      await sleep(IDLE_MS * 1.5)
      assert.equal(await store.touch(id), undefined)
    })

    it('does not restart the idle clock on a peek: a session only peeked at ends after the idle limit', async () => {
      const session = sessionOf()
      const id = await store.create(session)
      await sleep(IDLE_MS / 2)
      assert.deepEqual(await store.peek(id), session)
      await sleep(IDLE_MS / 4)
      assert.deepEqual(await store.peek(id), session)
      await sleep(IDLE_MS / 2)
      assert.equal(await store.peek(id), undefined, 'peeked at every 100-200 ms, still there after 500 ms')
      assert.equal(await store.touch(id), undefined)
    })

    it('ends a session once it is older than the lifetime, however busy', async () => {
      const id = await store.create(sessionOf())
      const started = Date.now()
      let endedAfter: number | undefined
      // Touched every 100 ms, well within the idle limit, until past the lifetime.
      while (endedAfter === undefined && Date.now() - started < MAX_AGE_MS + IDLE_MS) {
        if (await store.touch(id) === undefined) endedAfter = Date.now() - started
        else await sleep(IDLE_MS / 4)
      }
      assert.ok(endedAfter !== undefined && endedAfter >= MAX_AGE_MS - 50, `ended after ${endedAfter} ms (lifetime ${MAX_AGE_MS} ms)`)
      assert.equal(await store.peek(id), undefined)
    })

    it('ends an operator\'s oldest session beyond its cap, and never another operator\'s', async () => {
      const bootstrap = await store.create(sessionOf(BOOTSTRAP))
      const alice: string[] = []
      for (let i = 0; i < 50; i++) alice.push(await store.create(sessionOf()))
      for (const [i, id] of alice.entries()) {
        const kept = i >= alice.length - PER_OPERATOR
        assert.equal(await store.peek(id) !== undefined, kept, `alice's session ${i} of ${alice.length}`)
      }
      assert.notEqual(await store.touch(bootstrap), undefined, 'another operator\'s session ended')
      // A removed (or idled out) session frees its place: the next sign-in ends no live one.
      await store.remove(alice[alice.length - 1])
      alice.push(await store.create(sessionOf()))
      assert.notEqual(await store.peek(alice[alice.length - 4]), undefined)
      for (let i = 0; i < PER_OPERATOR; i++) await store.create(sessionOf(BOOTSTRAP))
      assert.equal(await store.peek(bootstrap), undefined, 'the bootstrap token\'s sessions count together')
    })

    it('ends a removed session, and finds none by another id', async () => {
      const id = await store.create(sessionOf())
      assert.equal(await store.touch(id.slice(1) + 'A'), undefined)
      assert.equal(await store.touch(''), undefined)
      assert.equal(await store.peek(''), undefined)
      await store.remove(id)
      assert.equal(await store.touch(id), undefined)
    })

    if (backend === 'Redis') {
      it('keys a session by its id\'s hash: the store holds no session id', async () => {
        const id = await store.create(sessionOf())
        const { Redis } = await import('ioredis')
        const client = new Redis(redis?.url as string)
        try {
          const keys = await client.keys('mqgate:console:*')
          const owned = await client.zrange(`mqgate:console:operator-sessions:${ALICE.operatorId}`, 0, -1)
          assert.ok(owned.length > 0 && owned.length <= PER_OPERATOR, owned.join(' '))
          assert.ok(keys.length > 0 && [...keys, ...owned].every(k => !k.includes(id)), keys.join(' '))
          assert.ok(await client.pttl(`mqgate:console:operator-sessions:${ALICE.operatorId}`) > 0, 'the operator\'s set does not expire')
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
