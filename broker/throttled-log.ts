import type { Logger } from 'pino'

/**
 * Warnings that an attacker can trigger at will (connection floods, oversized
 * packets, handshake timeouts) are logged once per code per interval, with
 * the count of those left out, so a flood cannot flood the log too.
 */
export class ThrottledLog {
  private readonly last = new Map<string, { at: number, suppressed: number }>()

  constructor (private readonly log: Logger, private readonly intervalMs = 10_000) {}

  warn (code: string, fields: Record<string, unknown>, message: string): void {
    const now = Date.now()
    const entry = this.last.get(code)
    if (entry !== undefined && now - entry.at < this.intervalMs) {
      entry.suppressed++
      return
    }
    this.last.set(code, { at: now, suppressed: 0 })
    this.log.warn({ ...fields, code, ...(entry !== undefined && entry.suppressed > 0 ? { suppressedSinceLast: entry.suppressed } : {}) }, message)
  }
}
