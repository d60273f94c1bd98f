import type { Redis } from 'ioredis'
import type { OperatorRecord } from './operator.js'
import { checkedRecord, type InvalidRecordReport } from './operator-record.js'
import { ID_PATTERN, storeError, type OperatorStore } from './operator-store.js'

const OPERATORS_KEY = 'mqgate:operators'
const NAMES_KEY = 'mqgate:operator-names'
/** Compare and delete in one step: HDEL only while the name still holds this id. */
const RELEASE_SCRIPT = "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end return 0"

/**
 * One hash, `mqgate:operators`: field id, value the record's JSON; the name
 * index `mqgate:operator-names`: field name, value id. A value that is not a
 * valid record under its field's id is skipped and reported (operator-record.ts).
 */
export class RedisOperatorStore implements OperatorStore {
  constructor (private readonly redis: Redis, private readonly onInvalid?: InvalidRecordReport) {}

  async get (id: string): Promise<OperatorRecord | undefined> {
    if (!ID_PATTERN.test(id)) return undefined
    const json = await this.call(async () => await this.redis.hget(OPERATORS_KEY, id))
    return json === null ? undefined : checkedRecord(id, json, this.onInvalid)
  }

  async list (): Promise<OperatorRecord[]> {
    const fields = await this.call(async () => await this.redis.hgetall(OPERATORS_KEY))
    return Object.entries(fields).flatMap(([id, json]) => checkedRecord(id, json, this.onInvalid) ?? [])
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
