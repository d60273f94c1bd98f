import { LRUCache } from 'lru-cache'
import type { AdminErrorCode } from '../errors.js'
import { isOperatorName } from '../operators/operator.js'
import { addressKey } from './address-key.js'

/**
 * Sign-in attempts, per source address (an IPv6 one by its /64:
 * address-key.ts), and password failures per operator name too. Tokens are 256-bit random, so this is
 * not what keeps them safe (passwords are at least 12 characters and scrypt):
 * it keeps a guessing client slow and visible in the log, and a signed-in one
 * from flooding the session store.
 *
 * - Failures: each failure's answer waits longer (250 ms, doubling, at most
 *   8 s), counted before the wait. A success does not forget them (else a
 *   guesser holding any valid token resets the count between guesses); a
 *   quarter of an hour without failures does. A password sign-in's failures
 *   are also counted per name typed, whatever the address, and its answer
 *   waits as long as the larger of the two counts asks: many addresses
 *   guessing one operator's password slow down together. It is a delay of
 *   failures, not a lockout: the operator's own right password is answered
 *   at once.
 * - In flight: at most MAX_IN_FLIGHT attempts of an address at once, delays
 *   included (a delay that only holds each answer would let a guesser run a
 *   thousand in parallel); one more is refused at once.
 * - Successes: at most MAX_SIGN_INS a minute (each makes a session); more are
 *   refused until the minute since the first is over.
 */
const FIRST_DELAY_MS = 250
const MAX_DELAY_MS = 8000
const FORGET_AFTER_MS = 15 * 60_000
export const MAX_IN_FLIGHT = 4
export const MAX_SIGN_INS = 30
const SIGN_IN_WINDOW_MS = 60_000

/** Why an attempt is not even tried; answered 429. */
export type SignInRefusalCode = Extract<AdminErrorCode, 'ADMIN_ERR_SIGN_IN_BUSY' | 'ADMIN_ERR_SIGN_IN_RATE'>

export class SignInThrottle {
  private readonly failures = new LRUCache<string, number>({ max: 10_000, ttl: FORGET_AFTER_MS })
  private readonly nameFailures = new LRUCache<string, number>({ max: 10_000, ttl: FORGET_AFTER_MS })
  private readonly signIns = new LRUCache<string, number>({ max: 10_000, ttl: SIGN_IN_WINDOW_MS })
  private readonly inFlight = new Map<string, number>()

  /** Admits an attempt of `address` (then `end` it, whatever happens), or answers why not. */
  begin (address: string): SignInRefusalCode | undefined {
    const key = addressKey(address)
    if ((this.signIns.get(key) ?? 0) >= MAX_SIGN_INS) return 'ADMIN_ERR_SIGN_IN_RATE'
    const running = this.inFlight.get(key) ?? 0
    if (running >= MAX_IN_FLIGHT) return 'ADMIN_ERR_SIGN_IN_BUSY'
    this.inFlight.set(key, running + 1)
    return undefined
  }

  end (address: string): void {
    const key = addressKey(address)
    const running = (this.inFlight.get(key) ?? 1) - 1
    if (running > 0) this.inFlight.set(key, running)
    else this.inFlight.delete(key)
  }

  /**
   * Counts a failure of `address` and, for a password sign-in, of the `name`
   * typed (when it could be an operator's: anything else, a mistyped password
   * say, is not kept); answers both counts (without 15 quiet minutes between)
   * and how long its answer waits.
   */
  failed (address: string, name?: string): { failures: number, nameFailures?: number, delayMs: number } {
    const failures = countIn(this.failures, addressKey(address))
    const nameFailures = name !== undefined && isOperatorName(name) ? countIn(this.nameFailures, name) : undefined
    return { failures, nameFailures, delayMs: delayAfter(Math.max(failures, nameFailures ?? 0)) }
  }

  /** Counts a success of `address` (its failures stay counted). */
  succeeded (address: string): void {
    const key = addressKey(address)
    // noUpdateTTL: the minute runs from the first success, more do not extend it.
    this.signIns.set(key, (this.signIns.get(key) ?? 0) + 1, { noUpdateTTL: true })
  }
}

function countIn (counts: LRUCache<string, number>, key: string): number {
  const count = (counts.get(key) ?? 0) + 1
  counts.set(key, count)
  return count
}

export function delayAfter (failures: number): number {
  return Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.max(0, failures - 1))
}
