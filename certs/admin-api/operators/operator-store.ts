import { randomUUID } from 'node:crypto'
import { link, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { Redis } from 'ioredis'
import { writeFileAtomic } from '../../atomic-file.js'
import { CertsError } from '../../errors.js'
import { isOperatorName, type OperatorRecord } from './operator.js'

/**
 * Where operators are kept: global, not per organisation, so beside the
 * registry rather than in it, on the same backend (the data dir, or the Redis
 * of REDIS_URL). Nothing is cached: the admin API reads the record on every
 * request, so a revocation or rotation holds at once in every process that
 * shares the store (one file read or HGET per request).
 */
export interface OperatorStore {
  get (id: string): Promise<OperatorRecord | undefined>
  list (): Promise<OperatorRecord[]>
  put (record: OperatorRecord): Promise<void>
  /** Removes a record: only a create that lost its name's claim removes its own (operator-names.ts). */
  delete (id: string): Promise<void>
  /**
   * The name index (operator-names.ts): sets `name` to `id` unless another
   * holds it, atomically at the store; answers the holder (`id` when this
   * call, or an earlier one, set it).
   */
  claimName (name: string, id: string): Promise<string>
  nameHolder (name: string): Promise<string | undefined>
  /** Frees `name` if `id` holds it. */
  releaseName (name: string, id: string): Promise<void>
  close (): Promise<void>
}

const ID_PATTERN = /^[0-9a-f]{16}$/

/** A record id as tokens carry it (16 hex digits): also what keeps a file name inside the directory. */
export function isOperatorId (value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value)
}

/**
 * `<dataDir>/admin/operators/<id>.json`, 0600, each replaced by rename; the
 * name index is `<dataDir>/admin/operator-names/<name>`, holding the id (a
 * directory of its own: the records' directory holds records only). A claim is a
 * link(2) of a complete file, which fails if the name exists: atomic across
 * processes. A release reads, compares and unlinks, which is not: two
 * processes freeing the same stale claim at once could free a fresh one. On
 * the file store one process runs the admin API (`--workers` needs Redis).
 */
export class FileOperatorStore implements OperatorStore {
  private readonly dir: string
  private readonly namesDir: string

  constructor (dataDir: string) {
    this.dir = path.join(dataDir, 'admin', 'operators')
    this.namesDir = path.join(dataDir, 'admin', 'operator-names')
  }

  async get (id: string): Promise<OperatorRecord | undefined> {
    if (!ID_PATTERN.test(id)) return undefined
    return await readRecord(path.join(this.dir, `${id}.json`))
  }

  async list (): Promise<OperatorRecord[]> {
    const names = await readdir(this.dir).catch((err: any) => {
      if (err?.code === 'ENOENT') return [] as string[]
      throw storeError(err)
    })
    const records = await Promise.all(names.filter(n => n.endsWith('.json')).map(async n => await readRecord(path.join(this.dir, n))))
    return records.filter((r): r is OperatorRecord => r !== undefined)
  }

  async put (record: OperatorRecord): Promise<void> {
    if (!isOperatorId(record.id)) throw storeError(new Error('not an operator id'))
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 })
      await writeFileAtomic(path.join(this.dir, `${record.id}.json`), JSON.stringify(record, null, 2) + '\n', 0o600)
    } catch (err) {
      throw storeError(err)
    }
  }

  async delete (id: string): Promise<void> {
    if (!ID_PATTERN.test(id)) return
    await rm(path.join(this.dir, `${id}.json`), { force: true }).catch(err => { throw storeError(err) })
  }

  async claimName (name: string, id: string): Promise<string> {
    const file = this.nameFile(name)
    // A name that was freed between our link and our read is claimed again; a bounded number of times.
    for (let attempt = 0; attempt < 3; attempt++) {
      // A name starts with a letter or digit: a dot file is never one.
      const tmp = path.join(this.namesDir, `.claim-${randomUUID()}.tmp`)
      try {
        await mkdir(this.namesDir, { recursive: true, mode: 0o700 })
        await writeFile(tmp, id, { mode: 0o600, flag: 'wx' })
        await link(tmp, file)
        return id
      } catch (err: any) {
        if (err?.code !== 'EEXIST') throw storeError(err)
      } finally {
        await rm(tmp, { force: true })
      }
      const holder = await this.nameHolder(name)
      if (holder !== undefined) return holder
    }
    throw storeError(new Error('the operator name index keeps changing'))
  }

  async nameHolder (name: string): Promise<string | undefined> {
    try {
      return (await readFile(this.nameFile(name), 'utf8')).trim()
    } catch (err: any) {
      if (err?.code === 'ENOENT') return undefined
      throw storeError(err)
    }
  }

  async releaseName (name: string, id: string): Promise<void> {
    if (await this.nameHolder(name) === id) await rm(this.nameFile(name), { force: true }).catch(err => { throw storeError(err) })
  }

  async close (): Promise<void> {}

  private nameFile (name: string): string {
    // The admin checks names first; this keeps any other caller inside the directory.
    if (!isOperatorName(name)) throw storeError(new Error('not an operator name'))
    return path.join(this.namesDir, name)
  }
}

const OPERATORS_KEY = 'mqgate:operators'
const NAMES_KEY = 'mqgate:operator-names'
/** Compare and delete in one step: HDEL only while the name still holds this id. */
const RELEASE_SCRIPT = "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end return 0"

/** One hash, `mqgate:operators`: field id, value the record's JSON; the name index `mqgate:operator-names`: field name, value id. */
export class RedisOperatorStore implements OperatorStore {
  constructor (private readonly redis: Redis) {}

  async get (id: string): Promise<OperatorRecord | undefined> {
    if (!ID_PATTERN.test(id)) return undefined
    const json = await this.call(async () => await this.redis.hget(OPERATORS_KEY, id))
    return json === null ? undefined : JSON.parse(json)
  }

  async list (): Promise<OperatorRecord[]> {
    const fields = await this.call(async () => await this.redis.hgetall(OPERATORS_KEY))
    return Object.values(fields).map(json => JSON.parse(json) as OperatorRecord)
  }

  async put (record: OperatorRecord): Promise<void> {
    await this.call(async () => await this.redis.hset(OPERATORS_KEY, record.id, JSON.stringify(record)))
  }

  async delete (id: string): Promise<void> {
    await this.call(async () => await this.redis.hdel(OPERATORS_KEY, id))
  }

  async claimName (name: string, id: string): Promise<string> {
    // One transaction: the holder read is the one HSETNX left, whatever another process does.
    const replies = await this.call(async () => await this.redis.multi().hsetnx(NAMES_KEY, name, id).hget(NAMES_KEY, name).exec())
    const holder = replies?.[1]?.[1]
    if (typeof holder !== 'string') throw storeError(replies?.[1]?.[0] ?? new Error('the name claim was not answered'))
    return holder
  }

  async nameHolder (name: string): Promise<string | undefined> {
    return await this.call(async () => await this.redis.hget(NAMES_KEY, name)) ?? undefined
  }

  async releaseName (name: string, id: string): Promise<void> {
    await this.call(async () => await this.redis.eval(RELEASE_SCRIPT, 1, NAMES_KEY, name, id))
  }

  async close (): Promise<void> {
    this.redis.disconnect()
  }

  private async call<T> (fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      throw storeError(err)
    }
  }
}

/** The operators on the registry's backend: Redis when `redisUrl` is set, the data dir otherwise. */
export function openOperatorStore (options: { dataDir: string, redisUrl?: string, maxRetriesPerRequest?: number }): OperatorStore {
  if (options.redisUrl === undefined) return new FileOperatorStore(options.dataDir)
  const redis = new Redis(options.redisUrl, options.maxRetriesPerRequest === undefined ? {} : { maxRetriesPerRequest: options.maxRetriesPerRequest })
  // Failures reach the request that met them (CERTS_ERR_STORE, 503); the registry's connection logs the outage.
  redis.on('error', () => {})
  return new RedisOperatorStore(redis)
}

async function readRecord (file: string): Promise<OperatorRecord | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as OperatorRecord
  } catch (err: any) {
    if (err?.code === 'ENOENT') return undefined
    throw storeError(err)
  }
}

function storeError (err: unknown): Error {
  if (err instanceof CertsError) return err
  return new CertsError('CERTS_ERR_STORE', 'the operator store failed', { cause: err })
}
