import { Redis } from 'ioredis'
import { percentile } from '../measure.js'
import { storeKey } from './ledger.js'

export interface MinuteLatency {
  readonly minute: number
  readonly samples: number
  readonly p50: number
  readonly p99: number
  readonly max: number
}

/**
 * Publish → store latency for a sample of the devices (every `every`-th):
 * Redis keyspace notifications on their sorted sets only, so the measure
 * costs Redis and this process a few dozen messages a second, not one per
 * reading. On each ZADD of a sampled device the readings it still waits for
 * are looked up by score (their time) and timed; bucketed by the minute they
 * were published in.
 */
export class StoreLatency {
  private readonly subscriber: Redis
  private readonly query: Redis
  /** Per sampled device: reading time → when it was published (performance.now()). */
  private readonly pending = new Map<number, Map<number, number>>()
  private readonly minutes: number[][] = []
  /** Samples stored while no notification could arrive (Redis restarting): not timed. */
  untimed = 0

  private startedAt = performance.now()
  private lastMinute = Infinity

  constructor (redisUrl: string, devices: number, every: number) {
    this.subscriber = new Redis(redisUrl, { maxRetriesPerRequest: null })
    this.query = new Redis(redisUrl, { maxRetriesPerRequest: null })
    // Refused connections while Redis restarts are expected; ioredis reconnects (and resubscribes) by itself.
    for (const client of [this.subscriber, this.query]) client.on('error', () => {})
    for (let d = 0; d < devices; d += every) this.pending.set(d, new Map())
  }

  /** Minutes count from the load's start; a reading of the load's last tick, a few ms late, counts in its last minute. */
  begin (startedAt: number, minutes: number): void {
    this.startedAt = startedAt
    this.lastMinute = Math.ceil(minutes) - 1
  }

  async start (): Promise<void> {
    await this.enableNotifications()
    this.subscriber.on('message', (channel: string, event: string) => {
      if (event !== 'zadd') return
      const device = Number(/:soak:s(\d+)$/.exec(channel)?.[1])
      void this.onStored(device, performance.now())
    })
    await this.subscriber.subscribe(...[...this.pending.keys()].map(d => `__keyspace@0__:${storeKey(d)}`))
  }

  /** Notifications are configuration, not data: a restarted Redis has them off again. */
  async enableNotifications (): Promise<void> {
    await this.query.config('SET', 'notify-keyspace-events', 'Kz')
  }

  /** After a Redis restart: on again, and what was stored meanwhile is dropped from the timing. */
  async resume (): Promise<void> {
    await this.enableNotifications()
    for (const [device, waiting] of this.pending) {
      for (const timeMs of await this.storedAmong(device, waiting)) {
        waiting.delete(timeMs)
        this.untimed++
      }
    }
  }

  published (device: number, timeMs: number): void {
    this.pending.get(device)?.set(timeMs, performance.now())
  }

  private async onStored (device: number, at: number): Promise<void> {
    const waiting = this.pending.get(device)
    if (waiting === undefined || waiting.size === 0) return
    for (const timeMs of await this.storedAmong(device, waiting).catch(() => [])) {
      const sentAt = waiting.get(timeMs)
      if (sentAt === undefined) continue
      waiting.delete(timeMs)
      const minute = Math.min(this.lastMinute, Math.floor((sentAt - this.startedAt) / 60_000))
      ;(this.minutes[minute] ??= []).push(at - sentAt)
    }
  }

  private async storedAmong (device: number, waiting: Map<number, number>): Promise<number[]> {
    if (waiting.size === 0) return []
    const times = [...waiting.keys()]
    const flat = await this.query.zrangebyscore(storeKey(device), Math.min(...times), Math.max(...times), 'WITHSCORES')
    const stored: number[] = []
    for (let k = 1; k < flat.length; k += 2) if (waiting.has(Number(flat[k]))) stored.push(Number(flat[k]))
    return stored
  }

  /** Samples still waiting (not stored yet, or lost: the ledger says which). */
  waiting (): number {
    let count = 0
    for (const waiting of this.pending.values()) count += waiting.size
    return count
  }

  perMinute (): MinuteLatency[] {
    return this.minutes.map((values, minute) => {
      const sorted = [...values].sort((a, b) => a - b)
      return { minute, samples: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? NaN }
    }).filter(m => m.samples > 0)
  }

  close (): void {
    this.subscriber.disconnect()
    this.query.disconnect()
  }
}
