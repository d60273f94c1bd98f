import { LRUCache } from 'lru-cache'

/** An answer kept until `expiresAt` (epoch ms). */
export interface Expiring {
  readonly expiresAt: number
}

/**
 * Answers keyed by (issuer, serial), each kept until its own deadline (the
 * response's nextUpdate, or a short default), and one lookup in flight per
 * key: a fleet reconnecting at once after a restart asks the responder once
 * per certificate, not once per connection.
 */
export class SingleFlightCache<V extends Expiring> {
  private readonly answers: LRUCache<string, V>
  private readonly inFlight = new Map<string, Promise<V>>()

  constructor (max = 10_000) {
    this.answers = new LRUCache<string, V>({ max })
  }

  /** The cached answer, or the one `lookup` gives (shared by concurrent callers); `cached` tells which. */
  async get (key: string, now: number, lookup: () => Promise<V>): Promise<{ readonly value: V, readonly cached: boolean }> {
    const kept = this.answers.get(key)
    if (kept !== undefined && kept.expiresAt > now) return { value: kept, cached: true }
    let pending = this.inFlight.get(key)
    if (pending !== undefined) return { value: await pending, cached: true }
    pending = lookup().then(value => {
      this.answers.set(key, value)
      return value
    }).finally(() => this.inFlight.delete(key))
    this.inFlight.set(key, pending)
    return { value: await pending, cached: false }
  }
}
