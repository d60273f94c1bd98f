import type { Redis } from 'ioredis'
import type { Reading } from './reading.js'
import { DEFAULT_READINGS_PER_DEVICE, deviceKey, storedFrom, type DeviceKey, type ReadingStore, type StoredReading } from './reading-store.js'

/** The key schema lives here only: one sorted set per device, scored by the reading's time. */
const readingsKey = (device: DeviceKey): string => `mqgate:readings:${deviceKey(device)}`

/**
 * Adds a batch of readings, each unless a member with its id is there: equal
 * ids mean equal instants, so equal scores, but not always equal JSON
 * ("...56Z" and "...56.000Z" are one reading), so ZADD alone would store it
 * twice. A reading repeated within the batch finds the first one's ZADD. Then
 * trims each device it added to to its newest `cap`, once per batch. The script
 * is atomic, so a batch repeated after a crash adds nothing twice.
 * KEYS the devices' sets; ARGV[1] cap, then per reading: the index of its key
 * in KEYS, score, member, the member's `{"id":"<id>",` prefix. Returns the
 * number added.
 */
const ADD_BATCH_ONCE = `
local cap = tonumber(ARGV[1])
local added = 0
local touched = {}
for i = 2, #ARGV, 4 do
  local key = KEYS[tonumber(ARGV[i])]
  local score = ARGV[i + 1]
  local prefix = ARGV[i + 3]
  local present = false
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', key, score, score)) do
    if string.sub(member, 1, #prefix) == prefix then present = true break end
  end
  if not present then
    redis.call('ZADD', key, score, ARGV[i + 2])
    touched[key] = true
    added = added + 1
  end
end
for key in pairs(touched) do
  redis.call('ZREMRANGEBYRANK', key, 0, -(cap + 1))
end
return added`

/**
 * Readings in Redis. The member is the reading's JSON, added only when no
 * member has its id (idempotent, ADD_BATCH_ONCE); ZREMRANGEBYRANK keeps the
 * newest `cap`. A batch is one script call: one command for Redis to parse and
 * the bridge to encode, where a call per reading cost the bridge most of its
 * store stage.
 */
export class RedisReadingStore implements ReadingStore {
  constructor (private readonly redis: Redis, private readonly cap = DEFAULT_READINGS_PER_DEVICE) {
    // A defined command runs by EVALSHA: the script is sent once, not with every batch.
    // No numberOfKeys: the first argument gives it, since a batch names as many keys as devices.
    redis.defineCommand('mqgateAddReadings', { lua: ADD_BATCH_ONCE })
  }

  async add (readings: readonly Reading[]): Promise<void> {
    if (readings.length === 0) return
    const keys = new Map<string, number>()
    const args: Array<string | number> = [this.cap]
    for (const reading of readings) {
      const key = readingsKey(reading)
      let index = keys.get(key)
      if (index === undefined) keys.set(key, index = keys.size + 1)
      args.push(index, reading.timeMs, JSON.stringify(storedFrom(reading)), `{"id":${JSON.stringify(reading.id)},`)
    }
    const redis = this.redis as Redis & { mqgateAddReadings: (...args: Array<string | number>) => Promise<number> }
    await redis.mqgateAddReadings(keys.size, ...keys.keys(), ...args)
  }

  async latest (device: DeviceKey, limit: number): Promise<StoredReading[] | undefined> {
    const members = await this.redis.zrevrange(readingsKey(device), 0, limit - 1)
    return members.length === 0 ? undefined : members.map(m => JSON.parse(m) as StoredReading)
  }

  async close (): Promise<void> {}
}
