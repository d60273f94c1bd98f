import type { Logger } from 'pino'
import { BatchReader } from './batch-reader.js'
import type { DeadLetters } from './dead-letters.js'
import type { ReadingLog } from './reading-log.js'
import { StageLoop } from './stage-loop.js'

export interface OwnApiForwardDeps {
  readonly readings: ReadingLog
  readonly deadLetters: DeadLetters
  readonly log: Logger
}

const BATCH = 500
/** Nothing waits on this stage: a long linger only saves wake-ups. */
const LINGER_MS = 20
/** What another consumer left pending this long (a dead bridge) is taken over, as the store stage does. */
const STALE_MS = 30_000

/**
 * The `forward` consumer group when the forward target is mqgate's own temps
 * API (MQGATE_TEMPS_URL unset): the API serves the store the store stage
 * writes, so POSTing a reading to it would only parse it again and add it
 * again. Each batch is acknowledged as it is, counted as `own_api`: the group
 * keeps pace with the log, so the log is trimmed, and a bridge configured
 * later with an external API forwards what arrives from then on.
 */
export class OwnApiForward {
  private readonly loop: StageLoop
  private readonly reader: BatchReader

  constructor (private readonly deps: OwnApiForwardDeps, consumer: string) {
    this.reader = new BatchReader(deps.readings, 'forward', { batch: BATCH, blockMs: 1000, lingerMs: LINGER_MS })
    this.loop = new StageLoop('forward', deps.log, async () => {
      const fresh = await this.reader.read(consumer)
      const stale = this.loop.every(5000) ? await deps.readings.claim('forward', consumer, () => STALE_MS, BATCH) : []
      const ids = [...fresh, ...stale].map(e => e.id)
      if (ids.length > 0) await this.loop.untilDone(async () => await this.settle(ids))
    })
  }

  start (): void {
    this.loop.start()
  }

  async stop (): Promise<void> {
    this.reader.close()
    await this.loop.stop()
  }

  private async settle (ids: readonly string[]): Promise<void> {
    await Promise.all([this.deps.readings.ack('forward', ids), this.deps.deadLetters.count('own_api', ids.length)])
  }
}
