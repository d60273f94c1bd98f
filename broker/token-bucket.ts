/**
 * A token bucket that may go into debt: a batch of packets already read from
 * the socket is taken whole, and the reader then waits until the debt is paid
 * back, so the average stays at the rate however large the batches are.
 * Capacity is one second's worth (the burst a client may send after a pause).
 */
export class TokenBucket {
  private tokens: number
  private at: number

  constructor (private readonly ratePerSecond: number, private readonly now: () => number = Date.now) {
    this.tokens = ratePerSecond
    this.at = now()
  }

  take (amount: number): void {
    this.refill()
    this.tokens -= amount
  }

  /** Milliseconds until the bucket is out of debt again; 0 when it is not in debt. */
  waitMs (): number {
    this.refill()
    return this.tokens >= 0 ? 0 : Math.ceil(-this.tokens * 1000 / this.ratePerSecond)
  }

  private refill (): void {
    const now = this.now()
    this.tokens = Math.min(this.ratePerSecond, this.tokens + (now - this.at) * this.ratePerSecond / 1000)
    this.at = now
  }
}
