import type { Redis } from 'ioredis'
import { keyOf, newSessionId, outlived, ownerOf } from './session-keys.js'
import type { ConsoleSession, ConsoleSessionStore, SessionLimits } from './session-store.js'

const SESSION_PREFIX = 'mqgate:console:session:'
const OWNER_PREFIX = 'mqgate:console:operator-sessions:'

/**
 * A new session and its operator's cap, in one step (a script runs alone, so
 * two workers' sign-ins cannot both see room for one): the session's key,
 * then its hash into the operator's sorted set scored by creation time (ms,
 * one past the newest when sign-ins share a millisecond: ties would order by
 * hash, not age); the
 * set forgets the sessions that ended by themselves (idled out, or older than
 * the lifetime) and ends the oldest beyond the cap. The set lives as long as
 * its newest session may.
 * KEYS: the session's key, the operator's set. ARGV: JSON, idle ms, now ms,
 * max age ms, cap, the session's hash, the session key prefix, the creation
 * time (ms) at or before which a session is too old. The sessions
 * named by the set are keys the script derives (one Redis, not a cluster).
 */
const CREATE = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local newest = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
local score = tonumber(ARGV[3])
if newest[2] ~= nil and tonumber(newest[2]) >= score then score = tonumber(newest[2]) + 1 end
redis.call('ZADD', KEYS[2], score, ARGV[6])
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[8])) do
  redis.call('DEL', ARGV[7] .. member)
  redis.call('ZREM', KEYS[2], member)
end
for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if redis.call('EXISTS', ARGV[7] .. member) == 0 then redis.call('ZREM', KEYS[2], member) end
end
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[5])
if over > 0 then
  for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, over - 1)) do redis.call('DEL', ARGV[7] .. member) end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, over - 1)
end
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return math.max(over, 0)
`

/**
 * In Redis: `mqgate:console:session:<sha256 of id>`, the session's JSON,
 * expiring after idleMs (renewed by `touch`, not by `peek`), and per operator
 * `mqgate:console:operator-sessions:<operator id>`, a sorted set of its
 * sessions' hashes by creation time, for the cap.
 */
export class RedisSessionStore implements ConsoleSessionStore {
  constructor (private readonly redis: Redis, private readonly limits: SessionLimits) {}

  async create (session: ConsoleSession): Promise<string> {
    const id = newSessionId()
    const { idleMs, maxAgeMs, perOperator } = this.limits
    const now = Date.now()
    await this.redis.eval(CREATE, 2, SESSION_PREFIX + keyOf(id), OWNER_PREFIX + ownerOf(session.credential),
      JSON.stringify(session), idleMs, now, maxAgeMs, perOperator, keyOf(id), SESSION_PREFIX, now - maxAgeMs)
    return id
  }

  async touch (id: string): Promise<ConsoleSession | undefined> {
    const key = SESSION_PREFIX + keyOf(id)
    const [[, json]] = await this.redis.multi().get(key).pexpire(key, this.limits.idleMs).exec() as Array<[Error | null, string | null]>
    return await this.living(key, json)
  }

  async peek (id: string): Promise<ConsoleSession | undefined> {
    const key = SESSION_PREFIX + keyOf(id)
    return await this.living(key, await this.redis.get(key))
  }

  async remove (id: string): Promise<void> {
    // The operator's set forgets the hash at its next sign-in (the key is gone).
    await this.redis.del(SESSION_PREFIX + keyOf(id))
  }

  async close (): Promise<void> {
    this.redis.disconnect()
  }

  /** The stored session unless it outlived the lifetime (then it ends now). */
  private async living (key: string, json: string | null): Promise<ConsoleSession | undefined> {
    if (json === null) return undefined
    const session = JSON.parse(json) as ConsoleSession
    if (!outlived(session, this.limits.maxAgeMs)) return session
    await this.redis.del(key)
    return undefined
  }
}
