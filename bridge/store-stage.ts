import type { Logger } from 'pino'
import { payloadForOperator, type DeadLetters } from './dead-letters.js'
import { BridgeError } from './errors.js'
import { parseReading, type Reading } from './reading.js'
import type { LogEntry, ReadingLog } from './reading-log.js'
import type { ReadingStore } from './reading-store.js'
import { BatchReader } from './batch-reader.js'
import { StageLoop } from './stage-loop.js'

export interface StoreStageDeps {
  readonly readings: ReadingLog
  readonly store: ReadingStore
  readonly deadLetters: DeadLetters
  readonly log: Logger
}

export interface StoreStageOptions {
  /** How long a lane that read a short batch waits for more (BatchReaderOptions.lingerMs). */
  readonly lingerMs: number
}

/**
 * 1 ms. The lanes' taking turns already batches whatever arrives while one
 * lane works; on the 2-core bench machine (noisy) a 3 ms linger bought no CPU
 * measurable at 500 readings/s and at most ~10 % at 2,000/s, and put 3 ms on
 * the median publish → store at 500/s (1.5 ms without linger, 2.5 ms at 1 ms).
 */
export const STORE_STAGE_DEFAULTS: StoreStageOptions = Object.freeze({ lingerMs: 1 })

/** What a consumer left pending this long is presumed dead and taken over. */
const STALE_MS = 30_000
const BATCH = 500
/**
 * Batches in flight at once: with one, the bridge idles while Redis runs a
 * batch's script and Redis idles while the bridge prepares the next. The
 * lanes take turns reading (BatchReader), so at low rates one lane lingers
 * and fills a batch while the others wait their turn.
 */
const LANES = 4

/**
 * The `store` consumer group: validates each reading, stores the valid ones in
 * one batch (one script call, idempotently), dead-letters the others with
 * their reason, then acknowledges the batch (one XACK). A store failure retries the same batch, so nothing is acked
 * unstored; a bad payload never holds up the ones behind it.
 */
export class StoreStage {
  private readonly loops: StageLoop[]
  private readonly reader: BatchReader

  constructor (private readonly deps: StoreStageDeps, consumer: string, options: StoreStageOptions = STORE_STAGE_DEFAULTS) {
    this.reader = new BatchReader(deps.readings, 'store', { batch: BATCH, blockMs: 1000, lingerMs: options.lingerMs })
    // Lane names are stable, so a restarted bridge re-reads what each lane held.
    this.loops = Array.from({ length: LANES }, (_, lane) => lane === 0 ? this.lane(consumer, true) : this.lane(`${consumer}#${lane + 1}`, false))
  }

  start (): void {
    for (const loop of this.loops) loop.start()
  }

  async stop (): Promise<void> {
    this.reader.close()
    await Promise.all(this.loops.map(async loop => await loop.stop()))
  }

  /** `chores`: taking over what dead consumers left and trimming the log, for the whole process, on one lane. */
  private lane (consumer: string, chores: boolean): StageLoop {
    const loop: StageLoop = new StageLoop('store', this.deps.log, async () => {
      const entries = await this.reader.read(consumer)
      const stale = chores && loop.every(5000) ? await this.deps.readings.claim('store', consumer, () => STALE_MS, BATCH) : []
      if (entries.length + stale.length > 0) await loop.untilDone(async () => await this.process([...entries, ...stale]))
      if (chores && loop.every(10_000, 'trim')) await this.deps.readings.trim()
    })
    return loop
  }

  private async process (entries: readonly LogEntry[]): Promise<void> {
    const valid: Reading[] = []
    const rejected: Array<{ entry: LogEntry, error: BridgeError }> = []
    for (const entry of entries) {
      try {
        valid.push(parseReading(entry, entry.payload))
      } catch (err) {
        if (!(err instanceof BridgeError)) throw err
        rejected.push({ entry, error: err })
      }
    }
    await this.deps.store.add(valid)
    for (const { entry, error } of rejected) await this.deadLetter(entry, error)
    // Issued together, so they leave in one write (the connection pipelines a tick's commands).
    await Promise.all([
      valid.length > 0 ? this.deps.deadLetters.count('stored', valid.length) : undefined,
      this.deps.readings.ack('store', entries.map(e => e.id))
    ])
    this.deps.log.debug({ event: 'readings.stored', count: valid.length, rejected: rejected.length }, 'readings stored')
  }

  private async deadLetter (entry: LogEntry, error: BridgeError): Promise<void> {
    this.deps.log.warn({ event: 'reading.rejected', code: error.code, orgId: entry.orgId, typeId: entry.typeId, deviceId: entry.deviceId, bytes: entry.payload.length }, error.message)
    await this.deps.deadLetters.count(`rejected:${error.code}`)
    await this.deps.deadLetters.add({
      at: new Date().toISOString(),
      code: error.code,
      reason: error.message,
      orgId: entry.orgId,
      typeId: entry.typeId,
      deviceId: entry.deviceId,
      ...payloadForOperator(entry.payload)
    })
  }
}
