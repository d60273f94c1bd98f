import type { Redis } from 'ioredis'
import { LRUCache } from 'lru-cache'

/**
 * Which readings the temps API has already accepted, so that a reading the
 * device sent twice (a QoS 1 redelivery) is POSTed once. Kept for a week.
 * Asked and marked a batch at a time: one command each, not one per reading.
 */
export interface ForwardedMarks {
  /** The ids among `readingIds` already accepted. */
  among (readingIds: readonly string[]): Promise<Set<string>>
  mark (readingIds: readonly string[]): Promise<void>
}

const TTL_SECONDS = 7 * 24 * 3600
const markKey = (readingId: string): string => `mqgate:readings:forwarded:${readingId}`

export class RedisForwardedMarks implements ForwardedMarks {
  constructor (private readonly redis: Redis) {}

  async among (readingIds: readonly string[]): Promise<Set<string>> {
    if (readingIds.length === 0) return new Set()
    const values = await this.redis.mget(readingIds.map(markKey))
    return new Set(readingIds.filter((_, i) => values[i] !== null))
  }

  async mark (readingIds: readonly string[]): Promise<void> {
    if (readingIds.length === 0) return
    // SET has no multi-key form with an expiry: one pipeline, one write.
    const pipeline = this.redis.pipeline()
    for (const id of readingIds) pipeline.set(markKey(id), '1', 'EX', TTL_SECONDS)
    const results = await pipeline.exec()
    const failed = results?.find(([err]) => err !== null)
    if (failed !== undefined) {
      const [err] = failed as [Error, unknown]
      throw err
    }
  }
}

export class MemoryForwardedMarks implements ForwardedMarks {
  private readonly marks = new LRUCache<string, true>({ max: 200_000, ttl: TTL_SECONDS * 1000 })

  async among (readingIds: readonly string[]): Promise<Set<string>> {
    return new Set(readingIds.filter(id => this.marks.has(id)))
  }

  async mark (readingIds: readonly string[]): Promise<void> {
    for (const id of readingIds) this.marks.set(id, true)
  }
}
