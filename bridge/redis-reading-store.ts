import type { Redis } from 'ioredis'
import type { Reading } from './reading.js'
import { DEFAULT_READINGS_PER_DEVICE, deviceKey, storedFrom, type DeviceKey, type ReadingStore, type StoredReading } from './reading-store.js'

/** The key schema lives here only: one sorted set per device, scored by the reading's time. */
const readingsKey = (device: DeviceKey): string => `mqgate:readings:${deviceKey(device)}`

/**
 * Adds one reading unless a member with its id is there: equal ids mean equal
 * instants, so equal scores, but not always equal JSON ("...56Z" and
 * "...56.000Z" are one reading), so ZADD alone would store it twice.
 * KEYS[1] the device's set; ARGV score, member, the member's `{"id":"<id>",` prefix, cap.
 */
const ADD_ONCE = `
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1])) do
  if string.sub(member, 1, #ARGV[3]) == ARGV[3] then return 0 end
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[4]) + 1))
return 1`

/**
 * Readings in Redis. The member is the reading's JSON, added only when no
 * member has its id (idempotent, ADD_ONCE); ZREMRANGEBYRANK keeps the newest
 * `cap`. A batch is one pipeline.
 */
export class RedisReadingStore implements ReadingStore {
  constructor (private readonly redis: Redis, private readonly cap = DEFAULT_READINGS_PER_DEVICE) {
    // A defined command runs by EVALSHA: the script is sent once, not with every reading.
    redis.defineCommand('mqgateAddReading', { numberOfKeys: 1, lua: ADD_ONCE })
  }

  async add (readings: readonly Reading[]): Promise<void> {
    if (readings.length === 0) return
    const pipeline = this.redis.pipeline() as ReturnType<Redis['pipeline']> & { mqgateAddReading: (...args: Array<string | number>) => unknown }
    for (const reading of readings) {
      const member = JSON.stringify(storedFrom(reading))
      pipeline.mqgateAddReading(readingsKey(reading), reading.timeMs, member, `{"id":${JSON.stringify(reading.id)},`, this.cap)
    }
    const results = await pipeline.exec()
    const failed = results?.find(([err]) => err !== null)
    if (failed !== undefined) {
      const [err] = failed as [Error, unknown]
      throw err
    }
  }

  async latest (device: DeviceKey, limit: number): Promise<StoredReading[] | undefined> {
    const members = await this.redis.zrevrange(readingsKey(device), 0, limit - 1)
    return members.length === 0 ? undefined : members.map(m => JSON.parse(m) as StoredReading)
  }

  async close (): Promise<void> {}
}
