import { TokenBucket } from './token-bucket.js'

/** One client's turn at a shared rate: called when it may pass a PUBLISH, it tries (`tryTake`) and re-queues itself if it holds more. */
export type Waiter = () => void

/**
 * A publish rate several clients share (an organisation's, org-limits.ts),
 * handed out in turns. Each client's gate (publish-rate.ts) asks it for one
 * PUBLISH at a time; while the rate is spent, clients queue and are woken in
 * arrival order as it refills, one PUBLISH each per turn, so a client whose
 * socket happens to be read first cannot take the whole budget and starve
 * the others (round robin, as a fair queue does for a shared link).
 *
 * `rateOf` is read at each decision: a rate changed or lifted applies at the
 * next one (a new rate starts with a full second's worth, as TokenBucket does).
 */
export class FairShare {
  private bucket: TokenBucket | undefined
  private bucketRate: number | undefined
  private readonly queue: Waiter[] = []
  private timer: NodeJS.Timeout | undefined
  private taken = 0

  constructor (private readonly rateOf: () => number | undefined) {}

  /** The rate now, or undefined when there is none. */
  rate (): number | undefined {
    return this.rateOf()
  }

  /** True, and one PUBLISH counted, when `waiter` may pass one now: the rate has room and no other client is waiting ahead of it. */
  tryTake (waiter: Waiter): boolean {
    const bucket = this.currentBucket()
    if (bucket === undefined) {
      this.leave(waiter)
      return true
    }
    if (this.queue.length > 0 && this.queue[0] !== waiter) return false
    if (bucket.waitMs() > 0) return false
    bucket.take(1)
    this.taken += 1
    if (this.queue[0] === waiter) this.queue.shift()
    return true
  }

  /** Queues `waiter` (once) to be called when its turn comes. */
  wait (waiter: Waiter): void {
    if (!this.queue.includes(waiter)) this.queue.push(waiter)
    this.schedule()
  }

  /** Takes `waiter` out of the queue (its socket closed). */
  leave (waiter: Waiter): void {
    const at = this.queue.indexOf(waiter)
    if (at >= 0) this.queue.splice(at, 1)
    if (this.queue.length === 0) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
  }

  private schedule (): void {
    if (this.timer !== undefined || this.queue.length === 0) return
    this.timer = setTimeout(() => this.wake(), this.currentBucket()?.waitMs() ?? 0)
  }

  /** Wakes waiters in turn while the rate has room (or everyone, once the rate is lifted). */
  private wake (): void {
    this.timer = undefined
    while (this.queue.length > 0 && (this.currentBucket()?.waitMs() ?? 0) === 0) {
      const head = this.queue[0]
      const before = this.taken
      head()
      // A head that took nothing (held back by its own per-client rate, or
      // closed) gives up its turn; its own timer brings it back.
      if (this.taken === before && this.queue[0] === head) this.queue.shift()
    }
    this.schedule()
  }

  private currentBucket (): TokenBucket | undefined {
    const rate = this.rateOf()
    if (rate === undefined) {
      this.bucket = undefined
      this.bucketRate = undefined
      return undefined
    }
    if (this.bucket === undefined || this.bucketRate !== rate) {
      this.bucket = new TokenBucket(rate)
      this.bucketRate = rate
    }
    return this.bucket
  }
}
