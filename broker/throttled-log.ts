import type { Logger } from 'pino'

/**
 * Warnings that an attacker can trigger at will (connection floods, oversized
 * packets, handshake timeouts) are logged once per code per interval, with
 * the count of those left out, so a flood cannot flood the log too.
 */
/** Keys per client must not grow without bound; entries past their interval are dropped beyond this. */
const MAX_KEYS = 10_000

export class ThrottledLog {
  private readonly last = new Map<string, { at: number, suppressed: number }>()

  constructor (private readonly log: Logger, private readonly intervalMs = 10_000) {}

  /** `key` narrows the interval to one subject (a client) rather than the whole code. */
  warn (code: string, fields: Record<string, unknown>, message: string, key: string = code): void {
    const now = Date.now()
    const entry = this.last.get(key)
    if (entry !== undefined && now - entry.at < this.intervalMs) {
      entry.suppressed++
      return
    }
    if (this.last.size >= MAX_KEYS) this.forgetOlderThan(now - this.intervalMs)
    this.last.set(key, { at: now, suppressed: 0 })
    this.log.warn({ ...fields, code, ...(entry !== undefined && entry.suppressed > 0 ? { suppressedSinceLast: entry.suppressed } : {}) }, message)
  }

  private forgetOlderThan (at: number): void {
    for (const [key, entry] of this.last) if (entry.at < at) this.last.delete(key)
  }
}
