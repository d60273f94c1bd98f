import { LRUCache } from 'lru-cache'

/**
 * Failed console sign-ins, per source address: each failure's answer waits
 * longer (250 ms, doubling, at most 8 s), counted before the wait so parallel
 * guesses wait too; a success forgets the address, and so does a quarter of
 * an hour without failures. Tokens are 256-bit random, so this is not what
 * keeps them safe: it keeps a guessing client slow and visible in the log.
 */
const FIRST_DELAY_MS = 250
const MAX_DELAY_MS = 8000
const FORGET_AFTER_MS = 15 * 60_000

export class SignInThrottle {
  private readonly failures = new LRUCache<string, number>({ max: 10_000, ttl: FORGET_AFTER_MS })

  /** Counts a failure of `address`; answers how many in a row and how long its answer waits. */
  failed (address: string): { failures: number, delayMs: number } {
    const failures = (this.failures.get(address) ?? 0) + 1
    this.failures.set(address, failures)
    return { failures, delayMs: delayAfter(failures) }
  }

  succeeded (address: string): void {
    this.failures.delete(address)
  }
}

export function delayAfter (failures: number): number {
  return Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.max(0, failures - 1))
}
