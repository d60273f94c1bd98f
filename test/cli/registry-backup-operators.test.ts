import assert from 'node:assert/strict'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { Redis } from 'ioredis'
import { FileOperatorStore, RedisOperatorStore, type OperatorStore } from '../../certs/index.js'
import type { OperatorRecord } from '../../certs/admin-api/operators/operator.js'
import { logInvalidRecords, type InvalidRecordReport } from '../../certs/admin-api/operators/operator-record.js'
import { createLogSink } from '../support/log-sink.js'
import { runMqgate, showResult, type CliResult } from '../support/mqgate-cli.js'
import { startTestRedis, type TestRedis } from '../support/redis-server.js'
import { makeTempDir } from '../support/temp-dir.js'

/** Issue 14: `mqgate registry backup|restore` carry the operators, so a restore onto a fresh store keeps who may sign in. */

/** One store of the backend: where the CLI is pointed, and the operators as a process opens them. */
interface Place {
  readonly args: readonly string[]
  operators (onInvalid?: InvalidRecordReport): OperatorStore
  /** Writes `json` as the record of `id`, past the store (a hand edit). */
  plant (id: string, json: string): Promise<void>
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
    const dir = path.join(temp.dir, 'admin', 'operators')
    return {
      args: ['--data-dir', temp.dir],
      operators: onInvalid => new FileOperatorStore(temp.dir, onInvalid),
      plant: async (id, json) => { await mkdir(dir, { recursive: true }); await writeFile(path.join(dir, `${id}.json`), json) },
      close: async () => await temp.remove()
    }
  }
}

const redisBackend: Backend = {
  name: 'Redis',
  place: async () => {
    const redis: TestRedis = await startTestRedis()
    return {
      args: ['--redis', redis.url],
      operators: onInvalid => new RedisOperatorStore(new Redis(redis.url), onInvalid),
      plant: async (id, json) => { const client = new Redis(redis.url); await client.hset('mqgate:operators', id, json); client.disconnect() },
      close: async () => await redis.stop()
    }
  }
}

const RECORDS: readonly OperatorRecord[] = [
  { id: '00000000000000a1', name: 'alice', role: 'admin', orgs: [], tokenHash: 'a1'.repeat(32), createdAt: '2030-01-01T00:00:00.000Z' },
  // A field this version does not know (another version's) is carried as it is.
  { id: '00000000000000b2', name: 'bob', role: 'viewer', orgs: ['demo'], tokenHash: 'b2'.repeat(32), createdAt: '2030-01-02T00:00:00.000Z', passwordHash: `scrypt$32768$8$1$${'A'.repeat(22)}==$${'B'.repeat(43)}=`, passwordSetAt: '2030-01-02T00:00:00.000Z', webauthn: { another: 'version' } } as unknown as OperatorRecord,
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

/** Records no operator can have, each as the attack on issue 14 planted or a hand edit could leave it: what is wrong, and the record. */
const MALFORMED: ReadonlyArray<[string, Record<string, unknown>]> = [
  ['createdAt', { id: '00000000000000e1', name: 'alice', role: 'viewer', orgs: ['demo'], tokenHash: 'e1'.repeat(32), revokedAt: '2030-02-01T00:00:00.000Z' }],
  ['orgs', { id: '00000000000000e2', name: 'mallory', role: 'viewer', orgs: 'demo-staging', tokenHash: 'e2'.repeat(32), createdAt: '2030-01-01T00:00:00.000Z' }],
  ['tokenHash', { id: '00000000000000e3', name: 'notoken', role: 'viewer', orgs: ['demo'], createdAt: '2030-01-01T00:00:00.000Z' }],
  ['role', { id: '00000000000000e4', name: 'root', role: 'root', orgs: [], tokenHash: 'e4'.repeat(32), createdAt: '2030-01-01T00:00:00.000Z' }],
  ['passwordHash', { id: '00000000000000e5', name: 'heavy', role: 'viewer', orgs: ['demo'], tokenHash: 'e5'.repeat(32), createdAt: '2030-01-01T00:00:00.000Z', passwordHash: 'scrypt$opaque' }]
]

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

    it('refuses, writing nothing, a backup with a malformed operator, a repeated id or two active records of one name, naming the record\'s index and never its hashes', async () => {
      const file = path.join(work.dir, 'backup.json')
      assert.equal((await registryCli(source, ['backup', file])).status, 0)
      const backup = JSON.parse(await readFile(file, 'utf8'))
      const cases: Array<[string, unknown[], RegExp]> = [
        ...MALFORMED.map(([field, record]): [string, unknown[], RegExp] => [field, [...backup.operators, record], new RegExp(`operator #3 of the backup: ${field}`)]),
        ['a repeated id', [...backup.operators, { ...backup.operators[2], name: 'carl' }], /operator #3 of the backup: its id is an earlier operator's/],
        ['two active alices', [...backup.operators, { ...backup.operators[0], id: '00000000000000f1', tokenHash: 'f1'.repeat(32) }], /operator #3 of the backup: its name is an earlier active operator's/]
      ]
      for (const [what, operators, message] of cases) {
        await writeFile(file, JSON.stringify({ ...backup, operators }))
        const refused = await registryCli(target, ['restore', file])
        assert.equal(refused.status, 1, `${what}: ${showResult(refused)}`)
        assert.match(refused.stderr, /CERTS_ERR_BACKUP_INVALID/, what)
        assert.match(refused.stderr, message, what)
        assert.ok(!/[0-9a-f]{64}/.test(refused.stderr) && !refused.stderr.includes('scrypt$'), `${what}: a hash in ${refused.stderr}`)
      }
      assert.deepEqual(await withOperators(target, async store => await store.list()), [])
    })

    it('skips, logging each once, a record of the store no operator can have: get and list answer only valid ones', async () => {
      for (const [, record] of MALFORMED) await source.plant(record.id as string, JSON.stringify(record))
      await source.plant('00000000000000e6', '{"id": "00000000000000e6", "name": "cut-sh')
      // A valid record kept under another id than its own.
      await source.plant('00000000000000e7', JSON.stringify(RECORDS[0]))
      const logs = createLogSink()
      const store = source.operators(logInvalidRecords(logs.logger))
      try {
        assert.deepEqual(byId(await store.list()), byId(RECORDS))
        assert.deepEqual(byId(await store.list()), byId(RECORDS))
        for (const [, record] of MALFORMED) assert.equal(await store.get(record.id as string), undefined)
        assert.equal(await store.get('00000000000000e7'), undefined)
        assert.equal((await store.get(RECORDS[0].id))?.name, 'alice')
      } finally {
        await store.close()
      }
      const skipped = logs.lines.filter(l => l.event === 'operators.record-skipped')
      assert.deepEqual(skipped.map(l => l.recordId).sort(), ['00000000000000e1', '00000000000000e2', '00000000000000e3', '00000000000000e4', '00000000000000e5', '00000000000000e6', '00000000000000e7'])
      assert.deepEqual(skipped.filter(l => l.recordId !== '00000000000000e6' && l.recordId !== '00000000000000e7').map(l => l.problem.split(' ')[0]).sort(), MALFORMED.map(([field]) => field).sort())
      assert.ok(!/[0-9a-f]{64}/.test(logs.text()) && !logs.text().includes('scrypt$'), logs.text())
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
