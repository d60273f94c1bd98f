import { Redis } from 'ioredis'
import { closeRedis } from '../broker/index.js'
import type { Logger } from 'pino'
import { MemoryDeadLetters, RedisDeadLetters, type DeadLetters } from './dead-letters.js'
import { MemoryForwardedMarks, RedisForwardedMarks, type ForwardedMarks } from './forwarded-marks.js'
import { MemoryReadingLog, type ReadingLog } from './reading-log.js'
import { MemoryReadingStore, type ReadingStore } from './reading-store.js'
import { RedisReadingLog } from './redis-reading-log.js'
import { RedisReadingStore } from './redis-reading-store.js'

/** Where readings live: the durable log, the store, the dead letters and the forwarded marks, all on one backend. */
export interface ReadingsBackend {
  readonly kind: 'redis' | 'memory'
  readonly log: ReadingLog
  readonly store: ReadingStore
  readonly deadLetters: DeadLetters
  readonly forwarded: ForwardedMarks
  /** Round-trip time to Redis in seconds (undefined without Redis); rejects when it does not answer. */
  ping (): Promise<number | undefined>
  close (): Promise<void>
}

/** Redis when `redisUrl` is set (shared by every process); otherwise this process's memory (embedded mode). */
export function createReadingsBackend (redisUrl: string | undefined, readingsPerDevice: number, log: Logger): ReadingsBackend {
  if (redisUrl === undefined) {
    return {
      kind: 'memory',
      log: new MemoryReadingLog(),
      store: new MemoryReadingStore(readingsPerDevice),
      deadLetters: new MemoryDeadLetters(),
      forwarded: new MemoryForwardedMarks(),
      ping: async () => undefined,
      close: async () => {}
    }
  }
  // Commands issued in one tick go out in one write: every accepted reading is
  // an XADD from the broker, and every forward three small commands.
  const redis = new Redis(redisUrl, { enableAutoPipelining: true })
  redis.on('error', err => log.error({ event: 'redis.error', component: 'readings', err }, 'Redis connection error'))
  const readingLog = new RedisReadingLog(redis, log)
  return {
    kind: 'redis',
    log: readingLog,
    store: new RedisReadingStore(redis, readingsPerDevice),
    deadLetters: new RedisDeadLetters(redis),
    forwarded: new RedisForwardedMarks(redis),
    async ping () {
      const started = process.hrtime.bigint()
      await Promise.race([redis.ping(), new Promise((_resolve, reject) => setTimeout(() => reject(new Error('Redis did not answer PING within 1 s')), 1000).unref())])
      return Number(process.hrtime.bigint() - started) / 1e9
    },
    async close () {
      await readingLog.close()
      await closeRedis(redis)
    }
  }
}
