import { Redis } from 'ioredis'
import type { Credential } from '../authentication.js'
import { MemorySessionStore } from './memory-session-store.js'
import { RedisSessionStore } from './redis-session-store.js'

/**
 * A console session: the credential that signed in (a hash, never the token),
 * its CSRF token, and when it was made. It ends when idle for `idleMs`, once
 * `maxAgeMs` old whatever its activity, at sign-out, when its operator is
 * revoked or rotated (checked per request), or when its operator signs in
 * `perOperator` more times (a new sign-in beyond the cap ends that operator's
 * oldest session, never another operator's: one operator's sign-ins cannot
 * push anybody else out).
 *
 * Where sessions live follows the operators (operator-store.ts): in this
 * process's memory without Redis (one process serves the admin API; sessions
 * end at a restart), in Redis with REDIS_URL, where `mqgate start --workers`
 * spreads requests over processes that must all know the session. Either way
 * a store is keyed by the SHA-256 of the session id (session-keys.ts).
 */
export interface ConsoleSession {
  readonly credential: Credential
  readonly csrf: string
  readonly createdAt: string
}

export interface ConsoleSessionStore {
  /** A new session; answers its id (the cookie's value). Ends its operator's oldest sessions beyond the cap. */
  create (session: ConsoleSession): Promise<string>
  /** The session of an id, its idle clock restarted (the operator did something); undefined when unknown, idle too long or too old. */
  touch (id: string): Promise<ConsoleSession | undefined>
  /** The same without restarting the idle clock: for what a page polls by itself, which is no sign of anybody there. */
  peek (id: string): Promise<ConsoleSession | undefined>
  remove (id: string): Promise<void>
  close (): Promise<void>
}

export interface SessionLimits {
  /** Without a request (a polled fragment is none), a session ends after this long. */
  readonly idleMs: number
  /** However busy, a session ends this long after its sign-in. */
  readonly maxAgeMs: number
  /** Sessions one operator may hold at once (its token's and its password's together). */
  readonly perOperator: number
}

/**
 * 12 hours: a working day and then some, so a stolen cookie kept busy by a
 * script still dies. 20 per operator: browsers, tabs signed in anew, a
 * colleague's laptop; a script signing in in a loop only ends its own.
 */
export const SESSION_LIMITS = Object.freeze({ maxAgeMs: 12 * 3600_000, perOperator: 20 })

/** Sessions beside the operators: Redis when `redisUrl` is set, this process's memory otherwise. */
export function openSessionStore (options: { redisUrl?: string, idleMs: number, maxAgeMs?: number, perOperator?: number }): ConsoleSessionStore {
  const limits: SessionLimits = {
    idleMs: options.idleMs,
    maxAgeMs: options.maxAgeMs ?? SESSION_LIMITS.maxAgeMs,
    perOperator: options.perOperator ?? SESSION_LIMITS.perOperator
  }
  if (options.redisUrl === undefined) return new MemorySessionStore(limits)
  const redis = new Redis(options.redisUrl)
  // A failure reaches the request that met it (an error page); the registry's connection logs the outage.
  redis.on('error', () => {})
  return new RedisSessionStore(redis, limits)
}
