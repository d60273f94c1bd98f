import type { EventEmitter } from 'node:events'
import { Readable } from 'node:stream'
import { Redis } from 'ioredis'
import type { Logger } from 'pino'
import AsyncRedisPersistence from 'aedes-persistence-redis/asyncPersistence.js'
import mqemitterRedis from 'mqemitter-redis'
import { closeRedis, settlesWithin } from './redis-close.js'
import { MemoryRetainedOwners, RedisRetainedOwners, type RetainedOwners } from './retained-owners.js'

/**
 * aedes 1.2 pipes the retained-message source on SUBSCRIBE (`.pipe`), but the
 * Redis persistence returns an async generator there (the in-memory one
 * returns a stream): without this a subscription that matches a retained
 * message throws in aedes.
 */
class RedisPersistence extends AsyncRedisPersistence {
  override createRetainedStreamCombi (patterns: string[]): Readable {
    return Readable.from(super.createRetainedStreamCombi(patterns))
  }
}

/** What aedes stores sessions in and routes messages through, and how to let go of it. */
export interface MqttPersistence {
  readonly persistence?: unknown
  readonly mq?: unknown
  readonly retainedOwners: RetainedOwners
  /** Whether every Redis connection is up, so that a graceful close can be waited for. */
  readonly connected: () => boolean
  /** Drops the pub/sub connections at once (aedes' close waits for their QUIT, forever if Redis is down). */
  readonly abandon: () => void
  readonly close: () => Promise<void>
}

/** Broker keys share a Redis with the registry and the bridge, so they get their own prefix. */
export const MQTT_KEY_PREFIX = 'mqgate:mqtt:'

/**
 * In memory (aedes' defaults) without Redis. With Redis: sessions, retained
 * and QoS 1/2 messages in `aedes-persistence-redis`, and messages routed
 * through `mqemitter-redis`, so that every broker process on the same Redis
 * delivers to subscribers connected to any of them.
 */
export function createMqttPersistence (redisUrl: string | undefined, log: Logger): MqttPersistence {
  if (redisUrl === undefined) return { retainedOwners: new MemoryRetainedOwners(), connected: () => true, abandon: () => {}, close: async () => {} }
  const conn = new Redis(redisUrl, { keyPrefix: MQTT_KEY_PREFIX })
  conn.on('error', err => log.error({ event: 'redis.error', component: 'mqtt-persistence', err }, 'Redis connection error'))
  const persistence = new RedisPersistence({ conn })
  // Pub/sub channel names are not keys, so no prefix applies to them; they are internal topics ($org/...).
  const mq = mqemitterRedis({ connectionString: redisUrl, matchEmptyLevels: true })
  // mqemitter-redis reports connection trouble on `state`; unheard, an 'error' there would end the process.
  const mqState = (mq as unknown as { state: EventEmitter }).state
  mqState.on('error', (err: Error) => log.error({ event: 'redis.error', component: 'mqemitter', err }, 'Redis pub/sub error'))
  const { subConn, pubConn } = mq as unknown as { subConn: Redis, pubConn: Redis }
  return {
    persistence,
    mq,
    retainedOwners: new RedisRetainedOwners(conn),
    connected: () => [conn, subConn, pubConn].every(c => c.status === 'ready'),
    abandon: () => {
      subConn.disconnect()
      pubConn.disconnect()
    },
    close: async () => {
      // QUIT runs after the commands already queued (the last acknowledged
      // publishes being enqueued), where destroy() alone would drop them.
      await closeRedis(conn)
      // destroy() first unsubscribes through the pub/sub connections, which
      // never answers once they are gone (Redis down at shutdown).
      if (!await settlesWithin(persistence.destroy(), 1000)) conn.disconnect()
    }
  }
}
