import type { Redis } from 'ioredis'
import type { BridgeErrorCode } from './errors.js'

/** A reading the bridge gave up on, kept for an operator with the reason. */
export interface DeadLetter {
  readonly at: string
  readonly code: BridgeErrorCode
  readonly reason: string
  readonly orgId: string
  readonly typeId: string
  readonly deviceId: string
  /** The payload as received (UTF-8 when it is, else base64, at most 16 KiB). */
  readonly payload: string
  readonly payloadEncoding: 'utf8' | 'base64'
  /** For a temps API refusal: its status and the start of its answer. */
  readonly status?: number
  readonly response?: string
}

/**
 * Counters an operator (and metrics) reads: readings stored, forwarded,
 * retried, rejected by reason, and `own_api`: not POSTed, since the forward
 * target was mqgate's own temps API (OwnApiForward).
 */
export type ReadingCounter = 'stored' | 'forwarded' | 'own_api' | 'retried' | 'dead_lettered' | `rejected:${BridgeErrorCode}`

export interface DeadLetters {
  add (letter: DeadLetter): Promise<void>
  list (limit: number, orgId?: string): Promise<DeadLetter[]>
  count (counter: ReadingCounter, by?: number): Promise<void>
  counters (): Promise<Record<string, number>>
}

/** How many dead letters are kept; older ones are dropped first. */
export const DEAD_LETTER_CAP = 10_000

export function payloadForOperator (payload: Buffer): Pick<DeadLetter, 'payload' | 'payloadEncoding'> {
  const kept = payload.subarray(0, 16 * 1024)
  try {
    return { payload: new TextDecoder('utf-8', { fatal: true }).decode(kept), payloadEncoding: 'utf8' }
  } catch {
    return { payload: kept.toString('base64'), payloadEncoding: 'base64' }
  }
}

export class MemoryDeadLetters implements DeadLetters {
  private readonly letters: DeadLetter[] = []
  private readonly counts: Record<string, number> = {}

  async add (letter: DeadLetter): Promise<void> {
    this.letters.unshift(letter)
    if (this.letters.length > DEAD_LETTER_CAP) this.letters.length = DEAD_LETTER_CAP
    await this.count('dead_lettered')
  }

  async list (limit: number, orgId?: string): Promise<DeadLetter[]> {
    return this.letters.filter(l => orgId === undefined || l.orgId === orgId).slice(0, limit)
  }

  async count (counter: ReadingCounter, by = 1): Promise<void> {
    this.counts[counter] = (this.counts[counter] ?? 0) + by
  }

  async counters (): Promise<Record<string, number>> {
    return { ...this.counts }
  }
}

const LETTERS = 'mqgate:readings:dead-letters'
const COUNTERS = 'mqgate:readings:counters'

export class RedisDeadLetters implements DeadLetters {
  constructor (private readonly redis: Redis) {}

  async add (letter: DeadLetter): Promise<void> {
    await this.redis.multi()
      .lpush(LETTERS, JSON.stringify(letter))
      .ltrim(LETTERS, 0, DEAD_LETTER_CAP - 1)
      .hincrby(COUNTERS, 'dead_lettered', 1)
      .exec()
  }

  async list (limit: number, orgId?: string): Promise<DeadLetter[]> {
    const all = (await this.redis.lrange(LETTERS, 0, DEAD_LETTER_CAP - 1)).map(json => JSON.parse(json) as DeadLetter)
    return all.filter(l => orgId === undefined || l.orgId === orgId).slice(0, limit)
  }

  async count (counter: ReadingCounter, by = 1): Promise<void> {
    await this.redis.hincrby(COUNTERS, counter, by)
  }

  async counters (): Promise<Record<string, number>> {
    const raw = await this.redis.hgetall(COUNTERS)
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Number(v)]))
  }
}
