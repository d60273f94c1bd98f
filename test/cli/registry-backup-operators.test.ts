import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { Redis } from 'ioredis'
import { FileOperatorStore, RedisOperatorStore, type OperatorStore } from '../../certs/index.js'
import type { OperatorRecord } from '../../certs/admin-api/operators/operator.js'
import { runMqgate, showResult, type CliResult } from '../support/mqgate-cli.js'
import { startTestRedis, type TestRedis } from '../support/redis-server.js'
import { makeTempDir } from '../support/temp-dir.js'

/** Issue 14: `mqgate registry backup|restore` carry the operators, so a restore onto a fresh store keeps who may sign in. */

/** One store of the backend: where the CLI is pointed, and the operators as a process opens them. */
interface Place {
  readonly args: readonly string[]
  operators (): OperatorStore
  close (): Promise<void>
}

interface Backend {
  readonly name: string
  /** A new, empty store. */
  place (): Promise<Place>
}

const fileBackend: Backend = {
  name: 'files under the data dir',
  place: async () => {
    const temp = await makeTempDir('backup-operators')
    return { args: ['--data-dir', temp.dir], operators: () => new FileOperatorStore(temp.dir), close: async () => await temp.remove() }
  }
}

const redisBackend: Backend = {
  name: 'Redis',
  place: async () => {
    const redis: TestRedis = await startTestRedis()
    return { args: ['--redis', redis.url], operators: () => new RedisOperatorStore(new Redis(redis.url)), close: async () => await redis.stop() }
  }
}

const RECORDS: readonly OperatorRecord[] = [
  { id: '00000000000000a1', name: 'alice', role: 'admin', orgs: [], tokenHash: 'a1'.repeat(32), createdAt: '2030-01-01T00:00:00.000Z' },
  // A field this version does not know (another version's) is carried as it is.
  { id: '00000000000000b2', name: 'bob', role: 'viewer', orgs: ['demo'], tokenHash: 'b2'.repeat(32), createdAt: '2030-01-02T00:00:00.000Z', passwordHash: 'scrypt$opaque' } as unknown as OperatorRecord,
  { id: '00000000000000c3', name: 'carol', role: 'viewer', orgs: ['demo'], tokenHash: 'c3'.repeat(32), createdAt: '2030-01-03T00:00:00.000Z', revokedAt: '2030-02-01T00:00:00.000Z' }
]

async function withOperators<T> (place: Place, work: (store: OperatorStore) => Promise<T>): Promise<T> {
  const store = place.operators()
  try {
    return await work(store)
  } finally {
    await store.close()
  }
}

const byId = (records: readonly OperatorRecord[]): OperatorRecord[] => [...records].sort((a, b) => a.id.localeCompare(b.id))

for (const backend of [fileBackend, redisBackend]) {
  describe(`mqgate registry backup|restore with operators (${backend.name})`, function () {
    this.timeout(60_000)
    let source: Place
    let target: Place
    let work: { dir: string, remove: () => Promise<void> }
    const registryCli = async (place: Place, args: readonly string[]): Promise<CliResult> => await runMqgate(['registry', ...args, ...place.args], { REDIS_URL: '' })

    beforeEach(async () => {
      [source, target, work] = [await backend.place(), await backend.place(), await makeTempDir('backup-file')]
      await withOperators(source, async store => { for (const record of RECORDS) await store.put(record) })
    })
    afterEach(async () => {
      await source.close()
      await target.close()
      await work.remove()
    })

    it('restores every operator record, as the store held it, into a fresh store', async () => {
      const file = path.join(work.dir, 'backup.json')
      const backup = await registryCli(source, ['backup', file])
      assert.equal(backup.status, 0, showResult(backup))
      assert.match(backup.stdout, /3 operator\(s\)/)
      const restore = await registryCli(target, ['restore', file])
      assert.equal(restore.status, 0, showResult(restore))
      assert.match(restore.stdout, /3 operator\(s\)/)
      assert.deepEqual(byId(await withOperators(target, async store => await store.list())), byId(RECORDS))
    })

    it('refuses, writing nothing, a restore into a store holding one of the operators or an active one of an active name', async () => {
      const file = path.join(work.dir, 'backup.json')
      assert.equal((await registryCli(source, ['backup', file])).status, 0)
      await withOperators(target, async store => await store.put({ ...RECORDS[0], id: '00000000000000ff', tokenHash: 'ff'.repeat(32) }))
      const refused = await registryCli(target, ['restore', file])
      assert.equal(refused.status, 1, showResult(refused))
      assert.match(refused.stderr, /CERTS_ERR_RESTORE_CONFLICT/)
      assert.deepEqual((await withOperators(target, async store => await store.list())).map(record => record.id), ['00000000000000ff'])

      const again = await registryCli(source, ['restore', file])
      assert.equal(again.status, 1, showResult(again))
      assert.match(again.stderr, /CERTS_ERR_RESTORE_CONFLICT/)
    })

    it('restores a backup made before operators were carried, leaving the store\'s operators as they are', async () => {
      const file = path.join(work.dir, 'backup.json')
      assert.equal((await registryCli(source, ['backup', file])).status, 0)
      const { operators, ...older } = JSON.parse(await readFile(file, 'utf8'))
      assert.equal(operators.length, 3)
      await writeFile(file, JSON.stringify(older))
      const dave = { ...RECORDS[0], id: '00000000000000d4', name: 'dave' }
      await withOperators(target, async store => await store.put(dave))
      const restore = await registryCli(target, ['restore', file])
      assert.equal(restore.status, 0, showResult(restore))
      assert.match(restore.stdout, /0 operator\(s\)/)
      assert.deepEqual(await withOperators(target, async store => await store.list()), [dave])
    })
  })
}
