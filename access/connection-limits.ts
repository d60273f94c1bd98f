import type { Socket } from 'node:net'

export interface ConnectionLimitsConfig {
  /** Open connections from one IP address. */
  readonly perIp: number
  /** Open connections in all. */
  readonly total: number
  /** New connections per second from one IP address (sustained), with a burst of twice as many. */
  readonly ratePerIp: number
}

export type LimitCode = 'BROKER_ERR_LIMIT_CONNECTIONS_PER_IP' | 'BROKER_ERR_LIMIT_CONNECTIONS_TOTAL' | 'BROKER_ERR_LIMIT_CONNECTION_RATE'

/**
 * Caps on TCP connections, decided before any TLS work is spent on them. The
 * rate is a token bucket per address (refilled continuously); buckets of
 * addresses that have gone quiet are dropped.
 */
export class ConnectionLimits {
  private readonly open = new Map<string, number>()
  private total = 0
  private readonly buckets = new Map<string, { tokens: number, at: number }>()

  constructor (private readonly cfg: ConnectionLimitsConfig, private readonly now: () => number = Date.now) {}

  /** Admits the socket (and counts it until it closes) or says which cap it hits. */
  admit (socket: Socket): LimitCode | undefined {
    const ip = socket.remoteAddress ?? 'unknown'
    if (this.total >= this.cfg.total) return 'BROKER_ERR_LIMIT_CONNECTIONS_TOTAL'
    if ((this.open.get(ip) ?? 0) >= this.cfg.perIp) return 'BROKER_ERR_LIMIT_CONNECTIONS_PER_IP'
    if (!this.take(ip)) return 'BROKER_ERR_LIMIT_CONNECTION_RATE'
    this.total++
    this.open.set(ip, (this.open.get(ip) ?? 0) + 1)
    socket.once('close', () => {
      this.total--
      const left = (this.open.get(ip) ?? 1) - 1
      if (left === 0) this.open.delete(ip)
      else this.open.set(ip, left)
    })
    return undefined
  }

  private take (ip: string): boolean {
    const now = this.now()
    const capacity = this.cfg.ratePerIp * 2
    const bucket = this.buckets.get(ip) ?? { tokens: capacity, at: now }
    bucket.tokens = Math.min(capacity, bucket.tokens + (now - bucket.at) * this.cfg.ratePerIp / 1000)
    bucket.at = now
    this.buckets.set(ip, bucket)
    if (this.buckets.size > 100_000) this.forgetFullBuckets(now)
    if (bucket.tokens < 1) return false
    bucket.tokens -= 1
    return true
  }

  private forgetFullBuckets (now: number): void {
    for (const [ip, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.at) * this.cfg.ratePerIp / 1000 >= this.cfg.ratePerIp * 2) this.buckets.delete(ip)
    }
  }
}
