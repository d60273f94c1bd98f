import type { Redis } from 'ioredis'
import type { ForwardedPost } from './recorder-process.js'

/** A reading of the soak: the device's index and the reading's instant (unique per device). */
export interface ReadingRef {
  readonly device: number
  readonly timeMs: number
}

export interface Tally {
  readonly published: number
  readonly acknowledged: number
  /** Of the acknowledged readings, how many are in the store, and how many the temps API received. */
  readonly stored: number
  readonly forwarded: number
  /** Every distinct reading in the store / at the temps API, acknowledged or not (a PUBACK lost with its connection). */
  readonly storedAll: number
  readonly forwardedAll: number
  /** POSTs the temps API received in all (at-least-once: a repeat is allowed, a loss is not). */
  readonly posts: number
  readonly missingStored: readonly ReadingRef[]
  readonly missingForwarded: readonly ReadingRef[]
}

const DEVICE = /^d:demo:soak:s(\d+)$/

/**
 * What each device sent and had acknowledged, and what reached the store and
 * the temps API, keyed by (device, reading time): equal sets are the proof
 * that nothing acknowledged was lost.
 */
export class Ledger {
  private published = 0
  private readonly acked: Array<Set<number>>
  private readonly forwarded: Array<Set<number>>
  private posts = 0

  constructor (private readonly devices: number) {
    this.acked = Array.from({ length: devices }, () => new Set())
    this.forwarded = Array.from({ length: devices }, () => new Set())
  }

  onPublished (): void { this.published++ }

  onAcknowledged (device: number, timeMs: number): void { this.acked[device].add(timeMs) }

  get acknowledged (): number { return this.acked.reduce((sum, s) => sum + s.size, 0) }

  /** Takes what the recorder received so far (kept as counts per device: a soak run makes a million POSTs). */
  takeForwarded (posts: ForwardedPost[]): void {
    for (const [body, time] of posts.splice(0)) {
      this.posts++
      const device = DEVICE.exec(body)
      const timeMs = Date.parse(time)
      if (device !== null && Number.isFinite(timeMs)) this.forwarded[Number(device[1])]?.add(timeMs)
    }
  }

  /** Readings in the store now (one ZCARD per device): a cheap check before the full one. */
  async storedCount (redis: Redis): Promise<number> {
    const pipeline = redis.pipeline()
    for (let i = 0; i < this.devices; i++) pipeline.zcard(storeKey(i))
    return (await pipeline.exec() ?? []).reduce((sum, [, n]) => sum + Number(n ?? 0), 0)
  }

  /** Whether each acknowledged reading has been forwarded yet. */
  forwardedAcknowledged (): number {
    let count = 0
    this.acked.forEach((times, d) => { for (const t of times) if (this.forwarded[d].has(t)) count++ })
    return count
  }

  /** The full comparison: every device's stored instants (the sorted set's scores) against its acknowledged ones. */
  async tally (redis: Redis): Promise<Tally> {
    const pipeline = redis.pipeline()
    for (let i = 0; i < this.devices; i++) pipeline.zrange(storeKey(i), 0, -1, 'WITHSCORES')
    const results = await pipeline.exec() ?? []
    const missingStored: ReadingRef[] = []
    const missingForwarded: ReadingRef[] = []
    let stored = 0
    let storedAll = 0
    this.acked.forEach((times, device) => {
      const flat = (results[device]?.[1] ?? []) as string[]
      const inStore = new Set<number>()
      for (let k = 1; k < flat.length; k += 2) inStore.add(Number(flat[k]))
      storedAll += inStore.size
      for (const timeMs of times) {
        if (inStore.has(timeMs)) stored++
        else missingStored.push({ device, timeMs })
        if (!this.forwarded[device].has(timeMs)) missingForwarded.push({ device, timeMs })
      }
    })
    return {
      published: this.published,
      acknowledged: this.acknowledged,
      stored,
      forwarded: this.forwardedAcknowledged(),
      storedAll,
      forwardedAll: this.forwarded.reduce((sum, s) => sum + s.size, 0),
      posts: this.posts,
      missingStored,
      missingForwarded
    }
  }
}

/** bridge/redis-reading-store.ts's key for a soak device, scored by the reading's time in ms. */
export function storeKey (device: number): string {
  return `mqgate:readings:demo:soak:s${device}`
}
