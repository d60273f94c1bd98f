import { createHash, randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { LRUCache } from 'lru-cache'
import type { Credential } from '../authentication.js'

/**
 * A console session: the credential that signed in (a hash, never the token),
 * its CSRF token, and when it was made. It ends when idle for `idleMs`, at
 * sign-out, or when its operator is revoked or rotated (checked per request).
 *
 * Where sessions live follows the operators (operator-store.ts): in this
 * process's memory without Redis (one process serves the admin API; sessions
 * end at a restart), in Redis with REDIS_URL, where `mqgate start --workers`
 * spreads requests over processes that must all know the session. Either way
 * a store is keyed by the SHA-256 of the session id, so reading the store
 * (a Redis dump) yields no cookie to replay.
 */
export interface ConsoleSession {
  readonly credential: Credential
  readonly csrf: string
  readonly createdAt: string
}

export interface ConsoleSessionStore {
  /** A new session; answers its id (the cookie's value). */
  create (session: ConsoleSession): Promise<string>
  /** The session of an id, its idle clock restarted; undefined when unknown or idle too long. */
  touch (id: string): Promise<ConsoleSession | undefined>
  remove (id: string): Promise<void>
  close (): Promise<void>
}

/** In memory: at most MAX_SESSIONS (the oldest go first), each forgotten after idleMs without a request. */
export class MemorySessionStore implements ConsoleSessionStore {
  private readonly sessions: LRUCache<string, ConsoleSession>

  constructor (idleMs: number) {
    // ttlAutopurge off: expiry is checked on read, so the store holds no timer.
    this.sessions = new LRUCache({ max: MAX_SESSIONS, ttl: idleMs, updateAgeOnGet: true })
  }

  async create (session: ConsoleSession): Promise<string> {
    const id = newSessionId()
    this.sessions.set(keyOf(id), session)
    return id
  }

  async touch (id: string): Promise<ConsoleSession | undefined> {
    return this.sessions.get(keyOf(id))
  }

  async remove (id: string): Promise<void> {
    this.sessions.delete(keyOf(id))
  }

  async close (): Promise<void> {
    this.sessions.clear()
  }
}

/** In Redis: `mqgate:console:session:<sha256 of id>`, the session's JSON, expiring after idleMs (renewed per request). */
export class RedisSessionStore implements ConsoleSessionStore {
  constructor (private readonly redis: Redis, private readonly idleMs: number) {}

  async create (session: ConsoleSession): Promise<string> {
    const id = newSessionId()
    await this.redis.set(redisKey(id), JSON.stringify(session), 'PX', this.idleMs)
    return id
  }

  async touch (id: string): Promise<ConsoleSession | undefined> {
    const key = redisKey(id)
    const [[, json]] = await this.redis.multi().get(key).pexpire(key, this.idleMs).exec() as Array<[Error | null, string | null]>
    return json === null ? undefined : JSON.parse(json) as ConsoleSession
  }

  async remove (id: string): Promise<void> {
    await this.redis.del(redisKey(id))
  }

  async close (): Promise<void> {
    this.redis.disconnect()
  }
}

/** Sessions beside the operators: Redis when `redisUrl` is set, this process's memory otherwise. */
export function openSessionStore (options: { redisUrl?: string, idleMs: number }): ConsoleSessionStore {
  if (options.redisUrl === undefined) return new MemorySessionStore(options.idleMs)
  const redis = new Redis(options.redisUrl)
  // A failure reaches the request that met it (an error page); the registry's connection logs the outage.
  redis.on('error', () => {})
  return new RedisSessionStore(redis, options.idleMs)
}

const MAX_SESSIONS = 10_000
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/

function newSessionId (): string {
  return randomBytes(32).toString('base64url')
}

function keyOf (id: string): string {
  // An id of another shape hashes to a key no session has.
  return createHash('sha256').update(SESSION_ID.test(id) ? id : '').digest('hex') + (SESSION_ID.test(id) ? '' : '-')
}

function redisKey (id: string): string {
  return `mqgate:console:session:${keyOf(id)}`
}
