import { Redis } from 'ioredis'
import type { Logger } from 'pino'

/**
 * The stored audit trail: the last AUDIT_KEEP changes of each organisation,
 * beside the `audit` log lines (which stay the complete record), so that the
 * admin API (`GET /orgs/:org/audit`) and the console can show them. With Redis
 * a list per organisation (`mqgate:audit:<org>`, LPUSH then LTRIM), shared by
 * every process; on the file store a file per organisation
 * (file-audit-trail.ts). MemoryAuditTrail is the registry's default where no
 * store is named (tests): a restart forgets it.
 */
export const AUDIT_KEEP = 1000

export interface AuditEntry {
  /** ISO 8601 */
  readonly at: string
  /** As the log line has it: `operator:<name>@<address>`, `<name>@<address>` (bootstrap token, console), `system`. */
  readonly actor: string
  /** The operator's name, or the actor's part before `@`: what `?operator=` matches. */
  readonly operator: string
  readonly action: string
  readonly orgId: string
  readonly fields: Readonly<Record<string, unknown>>
}

export interface AuditFilter {
  readonly operator?: string
  readonly action?: string
  /** Entries at or after this instant (ms since the epoch). */
  readonly since?: number
}

export interface AuditTrail {
  append (entry: AuditEntry): void
  /** Newest first. */
  list (orgId: string, filter: AuditFilter): Promise<readonly AuditEntry[]>
  close (): Promise<void>
}

export function operatorOfActor (actor: string): string {
  const named = /^operator:(.+)@[^@]*$/.exec(actor)
  if (named !== null) return named[1]
  const at = actor.lastIndexOf('@')
  return at < 0 ? actor : actor.slice(0, at)
}

export function matches (entry: AuditEntry, filter: AuditFilter): boolean {
  if (filter.operator !== undefined && filter.operator !== '' && entry.operator !== filter.operator) return false
  // An action filter of `cert` matches `cert.revoke`, `cert.issue`: the family, or one exact action.
  if (filter.action !== undefined && filter.action !== '' && entry.action !== filter.action && !entry.action.startsWith(`${filter.action}.`)) return false
  if (filter.since !== undefined && Date.parse(entry.at) < filter.since) return false
  return true
}

export class MemoryAuditTrail implements AuditTrail {
  private readonly byOrg = new Map<string, AuditEntry[]>()

  append (entry: AuditEntry): void {
    const entries = this.byOrg.get(entry.orgId) ?? []
    entries.unshift(entry)
    entries.length = Math.min(entries.length, AUDIT_KEEP)
    this.byOrg.set(entry.orgId, entries)
  }

  async list (orgId: string, filter: AuditFilter): Promise<readonly AuditEntry[]> {
    return (this.byOrg.get(orgId) ?? []).filter(entry => matches(entry, filter))
  }

  async close (): Promise<void> {}
}

export class RedisAuditTrail implements AuditTrail {
  private readonly redis: Redis
  /** Appends in flight: close waits for them, so a change's entry is not lost at shutdown. */
  private readonly writing = new Set<Promise<unknown>>()

  constructor (redisUrl: string, private readonly log: Logger) {
    this.redis = new Redis(redisUrl)
    this.redis.on('error', err => log.error({ event: 'redis.error', err }, 'Redis connection error (audit trail)'))
  }

  append (entry: AuditEntry): void {
    const key = keyOf(entry.orgId)
    const write = this.redis.multi().lpush(key, JSON.stringify(entry)).ltrim(key, 0, AUDIT_KEEP - 1).exec()
      .catch((err: Error) => this.log.error({ event: 'audit.store-failed', err, action: entry.action, orgId: entry.orgId }, 'could not store an audit entry (the log line has it)'))
    this.writing.add(write)
    void write.finally(() => this.writing.delete(write))
  }

  async list (orgId: string, filter: AuditFilter): Promise<readonly AuditEntry[]> {
    const raw = await this.redis.lrange(keyOf(orgId), 0, -1)
    return raw.map(line => JSON.parse(line) as AuditEntry).filter(entry => matches(entry, filter))
  }

  async close (): Promise<void> {
    // Bounded: a Redis that is down must not hold a shutdown (ioredis would queue the QUIT for ever).
    // One grace for the writes and the QUIT together.
    await withinCloseGrace(Promise.all(this.writing).then(async () => { if (this.redis.status === 'ready') await this.redis.quit() }))
    this.redis.disconnect()
  }
}

/** Waits for what a trail's close must finish, at most 2 s: a shutdown has 10 s in all, shared with the other parts. */
export async function withinCloseGrace (work: Promise<unknown>): Promise<void> {
  await Promise.race([work.catch(() => undefined), new Promise(resolve => setTimeout(resolve, 2000).unref())])
}

function keyOf (orgId: string): string {
  return `mqgate:audit:${orgId}`
}
