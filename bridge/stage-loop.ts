import { setTimeout as sleep } from 'node:timers/promises'
import pRetry from 'p-retry'
import type { Logger } from 'pino'
import { BridgeError } from './errors.js'

/** The wait after a step's first failure; it doubles with each failure after, to 10 s. */
const FIRST_DELAY_MS = 200

/**
 * The run loop of a bridge stage: repeats one step until stopped, retries a
 * failing step with exponential backoff (p-retry: 200 ms growing to 10 s,
 * forever, logged), and tells the step when a periodic chore is due.
 */
export class StageLoop {
  private readonly abort = new AbortController()
  private done: Promise<void> = Promise.resolve()
  private started = false
  private readonly lastRun = new Map<string, number>()

  constructor (private readonly name: string, private readonly log: Logger, private readonly step: () => Promise<void>) {}

  start (): void {
    if (this.started) return
    this.started = true
    this.done = this.run()
  }

  async stop (): Promise<void> {
    this.abort.abort()
    await this.done
  }

  get active (): boolean {
    return this.started && !this.abort.signal.aborted
  }

  /** True at most once per `intervalMs` for each chore. */
  every (intervalMs: number, chore = 'default'): boolean {
    const now = Date.now()
    if (now - (this.lastRun.get(chore) ?? 0) < intervalMs) return false
    this.lastRun.set(chore, now)
    return true
  }

  /** Retries `work` until it succeeds or the loop stops: a store that is down holds its batch until it is back. */
  async untilDone (work: () => Promise<void>): Promise<void> {
    // p-retry only listens for an abort that has not happened yet: called from a
    // step that outlived stop(), it would retry forever and keep the process alive.
    if (this.abort.signal.aborted) throw new BridgeError('BRIDGE_ERR_CLOSED', `the ${this.name} stage is stopped`)
    // The first attempt runs bare: p-retry's set-up (a schedule of ten delays, an
    // abort listener) cost more per step than a small batch's own work.
    try {
      return await this.unlessStopped(work())
    } catch (err) {
      if (this.abort.signal.aborted) throw err
      this.failed(1, err as Error)
    }
    await sleep(FIRST_DELAY_MS, undefined, { signal: this.abort.signal })
    await pRetry(work, {
      // `forever` repeats the last (10 s) delay once the ten are spent; `retries: Infinity`
      // would make the retry module precompute an endless list of delays.
      // From the second attempt: 400 ms doubling, so 200, 400, 800 ms ... after each failure.
      forever: true,
      retries: 10,
      minTimeout: FIRST_DELAY_MS * 2,
      maxTimeout: 10_000,
      factor: 2,
      signal: this.abort.signal,
      onFailedAttempt: error => {
        if (this.abort.signal.aborted) return
        this.failed(error.attemptNumber + 1, error)
      }
    })
  }

  /**
   * Gives up on `attempt` when the loop stops, as p-retry does: with Redis down a
   * command waits for its whole retry budget, and stop() must not wait with it.
   * What the attempt held stays pending in the log.
   */
  private async unlessStopped (attempt: Promise<void>): Promise<void> {
    const signal = this.abort.signal
    let onAbort = (): void => {}
    const stopped = new Promise<never>((_resolve, reject) => {
      onAbort = () => reject(signal.reason)
      signal.addEventListener('abort', onAbort, { once: true })
    })
    try {
      await Promise.race([attempt, stopped])
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }

  private failed (attempt: number, err: Error): void {
    this.log.error({ event: 'bridge.stage-failed', stage: this.name, attempt, err }, 'bridge stage failed; retrying')
  }

  private async run (): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        await this.untilDone(this.step)
      } catch (err) {
        if (!this.abort.signal.aborted) throw err
      }
    }
  }
}
