import type { Redis } from 'ioredis'
import { LRUCache } from 'lru-cache'

/**
 * Which readings the temps API has already accepted, so that a reading the
 * device sent twice (a QoS 1 redelivery) is POSTed once. Kept for a week.
 */
export interface ForwardedMarks {
  has (readingId: string): Promise<boolean>
  mark (readingId: string): Promise<void>
}

const TTL_SECONDS = 7 * 24 * 3600

export class RedisForwardedMarks implements ForwardedMarks {
  constructor (private readonly redis: Redis) {}

  async has (readingId: string): Promise<boolean> {
    return await this.redis.exists(`mqgate:readings:forwarded:${readingId}`) === 1
  }

  async mark (readingId: string): Promise<void> {
    await this.redis.set(`mqgate:readings:forwarded:${readingId}`, '1', 'EX', TTL_SECONDS)
  }
}

export class MemoryForwardedMarks implements ForwardedMarks {
  private readonly marks = new LRUCache<string, true>({ max: 200_000, ttl: TTL_SECONDS * 1000 })

  async has (readingId: string): Promise<boolean> {
    return this.marks.has(readingId)
  }

  async mark (readingId: string): Promise<void> {
    this.marks.set(readingId, true)
  }
}
