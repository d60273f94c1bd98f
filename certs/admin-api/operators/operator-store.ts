import { mkdir, readFile, readdir } from 'node:fs/promises'
import path from 'node:path'
import { Redis } from 'ioredis'
import { writeFileAtomic } from '../../atomic-file.js'
import { CertsError } from '../../errors.js'
import type { OperatorRecord } from './operator.js'

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
  close (): Promise<void>
}

const ID_PATTERN = /^[0-9a-f]{16}$/

/** `<dataDir>/admin/operators/<id>.json`, 0600, each replaced by rename. */
export class FileOperatorStore implements OperatorStore {
  private readonly dir: string

  constructor (dataDir: string) {
    this.dir = path.join(dataDir, 'admin', 'operators')
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
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 })
      await writeFileAtomic(path.join(this.dir, `${record.id}.json`), JSON.stringify(record, null, 2) + '\n', 0o600)
    } catch (err) {
      throw storeError(err)
    }
  }

  async close (): Promise<void> {}
}

const OPERATORS_KEY = 'mqgate:operators'

/** One hash, `mqgate:operators`: field id, value the record's JSON. */
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
export function openOperatorStore (options: { dataDir: string, redisUrl?: string }): OperatorStore {
  if (options.redisUrl === undefined) return new FileOperatorStore(options.dataDir)
  const redis = new Redis(options.redisUrl)
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
