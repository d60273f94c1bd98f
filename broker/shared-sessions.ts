import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { LiveSessionDirectory, LiveSessionRow } from '../certs/index.js'
import type { LiveSessions } from './live-sessions.js'
import { closeRedis, settlesWithin } from './redis-close.js'

/**
 * The live sessions of every broker process sharing a Redis (`mqgate start
 * --workers N`, several `mqgate broker`s), for whichever process's admin API
 * is asked. Each process keeps its own list (LiveSessions) and publishes it
 * as one key, `mqgate:live-sessions:<process>` (JSON, rewritten at most every
 * PUBLISH_MS after a change and every HEARTBEAT_MS, expiring after TTL_MS: a
 * process that dies without cleaning up drops out of the list by itself).
 * Listing reads this process's sessions directly and the others' keys;
 * disconnecting a session held elsewhere is a message on CHANNEL, which every
 * process receives and the holder acts on.
 */
const KEY_PREFIX = 'mqgate:live-sessions:'
const CHANNEL = 'mqgate:live-sessions-disconnect'
const PUBLISH_MS = 100
const HEARTBEAT_MS = 5_000
const TTL_MS = 15_000

type Snapshot = Record<string, readonly LiveSessionRow[]>

export class SharedLiveSessions implements LiveSessionDirectory {
  private readonly id = randomUUID()
  private readonly redis: Redis
  private readonly subscriber: Redis
  private readonly heartbeat: NodeJS.Timeout
  private pending: NodeJS.Timeout | undefined
  private closed = false

  constructor (private readonly local: LiveSessions, redisUrl: string, private readonly log: Logger) {
    this.redis = new Redis(redisUrl)
    this.subscriber = new Redis(redisUrl)
    this.subscriber.subscribe(CHANNEL).catch((err: Error) => log.error({ err }, 'could not subscribe to the live sessions\' disconnect channel'))
    this.subscriber.on('message', (_channel: string, message: string) => { void this.disconnectAsked(message) })
    local.onChange = () => this.publishSoon()
    this.heartbeat = setInterval(() => { void this.publish() }, HEARTBEAT_MS).unref()
    void this.publish()
  }

  async list (orgId: string): Promise<readonly LiveSessionRow[]> {
    const rows = [...await this.local.list(orgId), ...(await this.othersSnapshots()).flatMap(snapshot => snapshot[orgId] ?? [])]
    return rows.sort((a, b) => a.since.localeCompare(b.since))
  }

  async disconnect (orgId: string, clientId: string): Promise<boolean> {
    if (await this.local.disconnect(orgId, clientId)) return true
    const held = (await this.othersSnapshots()).some(snapshot => (snapshot[orgId] ?? []).some(row => row.clientId === clientId))
    if (held) await this.redis.publish(CHANNEL, JSON.stringify({ orgId, clientId }))
    return held
  }

  async close (): Promise<void> {
    this.closed = true
    clearInterval(this.heartbeat)
    clearTimeout(this.pending)
    this.local.onChange = () => {}
    // Bounded: ioredis queues the DEL for as long as Redis is down; the key expires by itself (15 s) anyway.
    await settlesWithin(this.redis.del(this.key()), 1000)
    // Together: each may wait its grace on a Redis that is down, and a shutdown has 10 s in all.
    await Promise.all([closeRedis(this.subscriber), closeRedis(this.redis)])
  }

  private key (): string {
    return `${KEY_PREFIX}${this.id}`
  }

  private publishSoon (): void {
    if (this.pending !== undefined || this.closed) return
    this.pending = setTimeout(() => {
      this.pending = undefined
      void this.publish()
    }, PUBLISH_MS)
    this.pending.unref()
  }

  private async publish (): Promise<void> {
    if (this.closed) return
    const snapshot: Record<string, readonly LiveSessionRow[]> = {}
    for (const orgId of this.local.counts().keys()) snapshot[orgId] = await this.local.list(orgId)
    await this.redis.set(this.key(), JSON.stringify(snapshot), 'PX', TTL_MS)
      .catch((err: Error) => this.log.warn({ event: 'live-sessions.publish-failed', err }, 'could not publish this process\'s live sessions'))
  }

  /** Every other process's published list (SCAN, not KEYS: it does not block Redis). */
  private async othersSnapshots (): Promise<Snapshot[]> {
    const keys: string[] = []
    let cursor = '0'
    do {
      const [next, found] = await this.redis.scan(cursor, 'MATCH', `${KEY_PREFIX}*`, 'COUNT', 100)
      cursor = next
      keys.push(...found.filter(key => key !== this.key()))
    } while (cursor !== '0')
    if (keys.length === 0) return []
    const values = await this.redis.mget(...keys)
    return values.filter((v): v is string => v !== null).map(v => JSON.parse(v) as Snapshot)
  }

  private async disconnectAsked (message: string): Promise<void> {
    try {
      const { orgId, clientId } = JSON.parse(message) as { orgId: string, clientId: string }
      await this.local.disconnect(orgId, clientId)
    } catch (err) {
      this.log.warn({ event: 'live-sessions.disconnect-failed', err }, 'could not act on a disconnect request')
    }
  }
}
