import type { Logger } from 'pino'
import { settlesWithin } from '../broker/index.js'
import type { DeadLetters } from './dead-letters.js'
import { payloadForOperator } from './dead-letters.js'
import type { ForwardedMarks } from './forwarded-marks.js'
import { ForwardSettlements } from './forward-settlements.js'
import { parseReading, type Reading } from './reading.js'
import type { LogEntry, ReadingLog } from './reading-log.js'
import { StageLoop } from './stage-loop.js'
import type { TempsApiAnswer } from './temps-api-client.js'

export interface ForwardStageDeps {
  readonly readings: ReadingLog
  readonly api: { post: (reading: Reading) => Promise<TempsApiAnswer> }
  readonly deadLetters: DeadLetters
  readonly forwarded: ForwardedMarks
  readonly log: Logger
}

const BATCH = 64
/** Requests to the temps API under way at once, per bridge. */
const CONCURRENCY = 16
/** How long stop() waits for requests under way. */
const STOP_GRACE_MS = 2000
/** How long a settled reading waits for others to share its marks, XACK and counter (ForwardSettlements). */
const SETTLE_LINGER_MS = 2

/**
 * When a failed reading is due again: 0.5 s after its first attempt, doubling
 * to at most 30 s. The schedule lives in the log itself (a pending entry's
 * delivery count and idle time), so it survives a restart of the bridge; an
 * in-process retry library would forget it.
 */
export function retryDelay (deliveries: number): number {
  return Math.min(30_000, 500 * 2 ** Math.max(0, deliveries - 1))
}

/**
 * A reading another bridge holds may be in flight there (waiting its turn in a
 * batch): it is only taken over once that bridge looks dead, or two bridges
 * would POST it.
 */
const TAKE_OVER_AFTER_MS = 30_000

export function claimDelay (deliveries: number, heldBySelf: boolean): number {
  return heldBySelf ? retryDelay(deliveries) : Math.max(retryDelay(deliveries), TAKE_OVER_AFTER_MS)
}

/**
 * The `forward` consumer group: POSTs each valid reading to the temps API.
 * 2xx: done. 4xx: the API refuses it for good: dead-lettered with its answer,
 * never retried. 5xx, network errors, timeouts: left pending, retried on the
 * schedule above, for as long as it takes. Readings do not wait on each other;
 * only their bookkeeping is shared: one MGET of the marks per batch read, and
 * the marks, XACK and counter of requests ending together (ForwardSettlements).
 * Runs only for an external temps API (bridge.ts: OwnApiForward otherwise).
 */
export class ForwardStage {
  private readonly loop: StageLoop
  private failingSince: number | undefined
  private failures = 0
  /** Requests under way, by entry id: each runs on its own, so one the API leaves unanswered holds up no other. */
  private readonly inFlight = new Map<string, Promise<void>>()
  private readonly settlements: ForwardSettlements

  constructor (private readonly deps: ForwardStageDeps, consumer: string) {
    this.settlements = new ForwardSettlements(deps, SETTLE_LINGER_MS)
    this.loop = new StageLoop('forward', deps.log, async () => {
      const free = CONCURRENCY - this.inFlight.size
      // Full: wait for any one request to end, not for all of them (issue 18).
      if (free <= 0) return await Promise.race(this.inFlight.values())
      const fresh = await deps.readings.read('forward', consumer, Math.min(BATCH, free), 250)
      const room = free - fresh.length
      // An entry still under way here looks idle to the log: claimed again, it is not sent twice.
      const due = room > 0 ? (await deps.readings.claim('forward', consumer, claimDelay, room)).filter(e => !this.inFlight.has(e.id)) : []
      this.launchAll([...fresh, ...due])
    })
  }

  start (): void {
    this.loop.start()
  }

  async stop (): Promise<void> {
    await this.loop.stop()
    // Requests still under way get a grace period, not forever: with Redis down an
    // acknowledgement can hang for its whole retry budget (45 s). One cut short stays
    // pending in the log and is claimed and sent again by the next process.
    await settlesWithin(Promise.allSettled(this.inFlight.values()), STOP_GRACE_MS)
  }

  /** Parses the batch and asks which of it the API already has, in one command; then each reading goes its own way. */
  private launchAll (entries: readonly LogEntry[]): void {
    if (entries.length === 0) return
    const readings = entries.map(entry => {
      try {
        return parseReading(entry, entry.payload)
      } catch {
        // The store stage dead-letters invalid readings; here they are only skipped.
        return undefined
      }
    })
    const known = this.deps.forwarded.among(readings.flatMap(r => r === undefined ? [] : [r.id]))
    // Each request's own failure is logged by it; this one is seen by all of them.
    known.catch(() => {})
    entries.forEach((entry, i) => this.launch(entry, readings[i], known))
  }

  private launch (entry: LogEntry, reading: Reading | undefined, known: Promise<Set<string>>): void {
    const request = this.forward(entry, reading, known)
      .catch(err => {
        // Left pending in the log (not acknowledged): claimed and retried on the schedule above.
        this.deps.log.error({ event: 'bridge.stage-failed', stage: 'forward', err }, 'forwarding a reading failed; it stays pending')
      })
      .finally(() => { this.inFlight.delete(entry.id) })
    this.inFlight.set(entry.id, request)
  }

  private async forward (entry: LogEntry, reading: Reading | undefined, known: Promise<Set<string>>): Promise<void> {
    if (reading === undefined || (await known).has(reading.id)) return await this.settlements.done(entry.id)
    let answer: TempsApiAnswer
    try {
      answer = await this.deps.api.post(reading)
    } catch (err) {
      return await this.failed(entry, undefined, err as Error)
    }
    if (answer.status >= 200 && answer.status < 300) {
      await this.settlements.forwarded(entry.id, reading.id)
      this.recovered()
    } else if (answer.status >= 400 && answer.status < 500) {
      await this.refused(entry, reading, answer)
    } else {
      await this.failed(entry, answer.status, undefined)
    }
  }

  private async refused (entry: LogEntry, reading: Reading, answer: TempsApiAnswer): Promise<void> {
    this.deps.log.warn({ event: 'reading.refused-by-api', code: 'BRIDGE_ERR_TEMPS_API_REFUSED', status: answer.status, orgId: reading.orgId, typeId: reading.typeId, deviceId: reading.deviceId }, 'the temps API refused a reading')
    await this.deps.deadLetters.add({
      at: new Date().toISOString(),
      code: 'BRIDGE_ERR_TEMPS_API_REFUSED',
      reason: `the temps API answered ${answer.status}`,
      orgId: reading.orgId,
      typeId: reading.typeId,
      deviceId: reading.deviceId,
      ...payloadForOperator(entry.payload),
      status: answer.status,
      response: answer.body
    })
    await this.settlements.done(entry.id)
  }

  /** Left pending for a later attempt; logged when the API starts failing, then every 30 s while it does. */
  private async failed (entry: LogEntry, status: number | undefined, err: Error | undefined): Promise<void> {
    this.failures++
    await this.deps.deadLetters.count('retried')
    const now = Date.now()
    if (this.failingSince === undefined || this.loop.every(30_000, 'failure-log')) {
      this.failingSince ??= now
      this.deps.log.error({ event: 'temps-api.unavailable', code: 'BRIDGE_ERR_TEMPS_API_UNAVAILABLE', status, err: err === undefined ? undefined : { message: err.message, code: (err as NodeJS.ErrnoException).code }, failures: this.failures, deliveries: entry.deliveries, nextAttemptMs: retryDelay(entry.deliveries) }, 'the temps API is unavailable; readings wait and are retried')
    }
  }

  private recovered (): void {
    if (this.failingSince === undefined) return
    this.deps.log.info({ event: 'temps-api.recovered', downMs: Date.now() - this.failingSince, failures: this.failures }, 'the temps API answers again')
    this.failingSince = undefined
    this.failures = 0
  }
}
