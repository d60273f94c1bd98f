import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { BridgeError } from './errors.js'
import { READING_GROUPS, type ClaimDelay, type LogEntry, type ReadingLog, type ReadingMessage } from './reading-log.js'

const STREAM = 'mqgate:readings:stream'

/**
 * The reading log as a Redis stream with one consumer group per bridge stage:
 * XADD before the device's PUBACK, XREADGROUP to work, XACK when done, and
 * XPENDING/XCLAIM to retry what failed or what a dead consumer held. Several
 * bridge processes share each group's work without storing anything twice.
 */
export class RedisReadingLog implements ReadingLog {
  private readonly readers = new Map<string, Redis>()
  private readonly resumed = new Set<string>()
  private groupsReady: Promise<void> | undefined
  private closed = false
  private lossLoggedAt = 0

  constructor (private readonly redis: Redis, private readonly log?: Logger) {}

  async append (message: ReadingMessage): Promise<string> {
    const id = await this.redis.xadd(STREAM, '*',
      'o', message.orgId, 't', message.typeId, 'd', message.deviceId, 'p', message.payload.toString('base64'), 'r', String(message.receivedAt))
    return id as string
  }

  async read (group: string, consumer: string, count: number, blockMs: number): Promise<LogEntry[]> {
    return await this.withGroups(async () => await this.readOnce(group, consumer, count, blockMs))
  }

  private async readOnce (group: string, consumer: string, count: number, blockMs: number): Promise<LogEntry[]> {
    await this.ensureGroups()
    const key = `${group}/${consumer}`
    // "0" re-reads what this consumer was handed and did not acknowledge: a restart under the same name resumes it.
    // Once only: what is still pending afterwards (a failing forward) comes back through claim(), with its backoff.
    if (!this.resumed.has(key)) {
      const own = parseReply(await this.redis.xreadgroup('GROUP', group, consumer, 'COUNT', count, 'STREAMS', STREAM, '0'))
      this.resumed.add(key)
      if (own.length > 0) return await this.withDeliveries(group, consumer, own)
    }
    // BLOCK 0 would wait forever: a blockMs of 0 does not wait.
    const reply = blockMs > 0
      ? await this.reader(key).xreadgroup('GROUP', group, consumer, 'COUNT', count, 'BLOCK', blockMs, 'STREAMS', STREAM, '>')
      : await this.redis.xreadgroup('GROUP', group, consumer, 'COUNT', count, 'STREAMS', STREAM, '>')
    return parseReply(reply)
  }

  async ack (group: string, ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.redis.xack(STREAM, group, ...ids)
  }

  async claim (group: string, consumer: string, waitFor: ClaimDelay, count: number): Promise<LogEntry[]> {
    return await this.withGroups(async () => await this.claimOnce(group, consumer, waitFor, count))
  }

  private async claimOnce (group: string, consumer: string, waitFor: ClaimDelay, count: number): Promise<LogEntry[]> {
    await this.ensureGroups()
    const pending = await this.redis.xpending(STREAM, group, '-', '+', count * 4) as Array<[string, string, number, number]>
    const due = pending.filter(([, owner, idleMs, deliveries]) => idleMs >= waitFor(deliveries, owner === consumer)).slice(0, count)
    if (due.length === 0) return []
    const deliveries = new Map(due.map(([id, , , n]) => [id, n + 1]))
    // XCLAIM's min-idle re-checks each entry: one another consumer took meanwhile (idle reset) stays with it.
    const minIdle = Math.min(...due.map(([, owner, , n]) => waitFor(n, owner === consumer)))
    const claimed = await this.redis.xclaim(STREAM, group, consumer, minIdle, ...due.map(([id]) => id))
    return parseEntries(claimed as RawEntry[], id => deliveries.get(id) ?? 1)
  }

  /** XTRIM MINID: the oldest entry any group still needs (pending or not yet delivered) bounds what is dropped. */
  async trim (): Promise<void> {
    await this.withGroups(async () => await this.trimOnce())
  }

  private async trimOnce (): Promise<void> {
    await this.ensureGroups()
    const floors: string[] = []
    for (const group of READING_GROUPS) {
      const summary = await this.redis.xpending(STREAM, group) as [number, string | null, string | null, unknown]
      if (summary[0] > 0 && summary[1] !== null) floors.push(summary[1])
    }
    const infos = await this.redis.xinfo('GROUPS', STREAM) as unknown[][]
    for (const info of infos) {
      const lastDelivered = String(info[info.indexOf('last-delivered-id') + 1])
      floors.push(nextId(lastDelivered))
    }
    if (floors.length > 0) await this.redis.xtrim(STREAM, 'MINID', floors.sort(compareIds)[0])
  }

  async stats (): Promise<Array<{ group: string, pending: number, lag: number }>> {
    return await this.withGroups(async () => {
      await this.ensureGroups()
      return statsOf(await this.redis.xinfo('GROUPS', STREAM) as unknown[][])
    })
  }

  async close (): Promise<void> {
    this.closed = true
    for (const reader of this.readers.values()) reader.disconnect()
    this.readers.clear()
  }

  /**
   * Redis that comes back empty (a restart without AOF, FLUSHALL, a failover to
   * an empty replica) has lost the stream and its groups: every XREADGROUP,
   * XPENDING and XINFO answers NOGROUP (or ERR no such key) from then on. The
   * groups are created again (from "0": whatever was appended since is read)
   * and the command repeated once; one error line per loss, not one per step.
   * What Redis lost with its data is gone; what the broker has not acknowledged
   * yet the device sends again.
   */
  private async withGroups<T> (work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (err) {
      if (!isLostStream(err)) throw err
      this.groupsReady = undefined
      this.resumed.clear()
      // Every consumer of every stage meets the same loss at once: one line for all of them.
      if (Date.now() - this.lossLoggedAt > 10_000) {
        this.lossLoggedAt = Date.now()
        this.log?.error({ event: 'bridge.log-recreated', code: 'BRIDGE_ERR_LOG_LOST', err }, 'the readings stream or its consumer groups vanished from Redis (restarted empty?); recreating them')
      }
      return await work()
    }
  }

  /** Groups start at the beginning of the stream, so readings appended before the first bridge ran are not skipped. */
  private async ensureGroups (): Promise<void> {
    this.groupsReady ??= (async () => {
      for (const group of READING_GROUPS) {
        await this.redis.xgroup('CREATE', STREAM, group, '0', 'MKSTREAM').catch((err: Error) => {
          if (!String(err.message).includes('BUSYGROUP')) throw err
        })
      }
    })().catch(err => { this.groupsReady = undefined; throw err })
    await this.groupsReady
  }

  /** XREADGROUP BLOCK holds its connection: each consumer blocks on one of its own. */
  private reader (key: string): Redis {
    // A step still running when its stage stopped must not open a connection
    // nobody closes: it would reconnect to Redis for as long as the process lives.
    if (this.closed) throw new BridgeError('BRIDGE_ERR_CLOSED', 'the reading log is closed')
    let reader = this.readers.get(key)
    if (reader === undefined) {
      reader = this.redis.duplicate()
      reader.on('error', () => {})
      this.readers.set(key, reader)
    }
    return reader
  }

  private async withDeliveries (group: string, consumer: string, entries: LogEntry[]): Promise<LogEntry[]> {
    if (entries.length === 0) return []
    // Only this consumer's: other consumers' pending entries in the same id range would crowd its own out of COUNT.
    const pending = await this.redis.xpending(STREAM, group, entries[0].id, entries[entries.length - 1].id, entries.length, consumer) as Array<[string, string, number, number]>
    const counts = new Map(pending.map(([id, , , n]) => [id, n]))
    return entries.map(e => ({ ...e, deliveries: counts.get(e.id) ?? 1 }))
  }
}

type RawEntry = [string, string[]]

function statsOf (infos: unknown[][]): Array<{ group: string, pending: number, lag: number }> {
  return infos.map(info => {
    const field = (name: string): unknown => info[info.indexOf(name) + 1]
    return { group: String(field('name')), pending: Number(field('pending')), lag: Number(field('lag') ?? 0) }
  })
}

/** NOGROUP from the group commands, "no such key" from XINFO, "no longer exists" for a reader blocked when the key went. */
function isLostStream (err: unknown): boolean {
  const message = String((err as Error)?.message ?? '')
  return message.startsWith('NOGROUP') || message.includes('no such key') || message.includes('no longer exists')
}

/** Entries read with `>` are handed out for the first time. */
function parseReply (reply: unknown): LogEntry[] {
  if (reply === null || reply === undefined) return []
  const [[, entries]] = reply as Array<[string, RawEntry[]]>
  return parseEntries(entries)
}

// A deleted entry comes back with null fields (XCLAIM/XREADGROUP after XTRIM): it is skipped.
// The fields are read in one pass, without a Map per entry: the store stage reads tens of thousands a second.
function parseEntries (entries: RawEntry[], deliveriesOf: (id: string) => number = () => 1): LogEntry[] {
  const parsed: LogEntry[] = []
  for (const [id, fields] of entries) {
    if (fields === null) continue
    let orgId = ''
    let typeId = ''
    let deviceId = ''
    let payload = ''
    let receivedAt: string | undefined
    for (let i = 0; i < fields.length; i += 2) {
      const value = fields[i + 1]
      switch (fields[i]) {
        case 'o': orgId = value; break
        case 't': typeId = value; break
        case 'd': deviceId = value; break
        case 'p': payload = value; break
        case 'r': receivedAt = value; break
      }
    }
    parsed.push({ id, orgId, typeId, deviceId, payload: Buffer.from(payload, 'base64'), receivedAt: Number(receivedAt), deliveries: deliveriesOf(id) })
  }
  return parsed
}

function compareIds (a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt)
  const [bm, bs] = b.split('-').map(BigInt)
  return am === bm ? (as < bs ? -1 : as > bs ? 1 : 0) : am < bm ? -1 : 1
}

function nextId (id: string): string {
  const [ms, seq] = id.split('-')
  return `${ms}-${BigInt(seq ?? '0') + 1n}`
}
