import type { LogEntry, ReadingLog } from './reading-log.js'

export interface BatchReaderOptions {
  /** The most entries one read hands out. */
  readonly batch: number
  /** How long a read waits for a first entry before it returns none. */
  readonly blockMs: number
  /**
   * How long a read that found fewer than `batch` entries waits for more
   * before it returns: at low rates a reading would otherwise be a batch of
   * its own, each paying every round trip of the stage. It is added to a
   * reading's way to the store only when the log was nearly empty.
   */
  readonly lingerMs: number
}

/**
 * Reads a consumer group's entries for the lanes of one stage in turn: one
 * lane at a time waits on the log, so a reading that arrives wakes one lane,
 * which lingers for the ones behind it, instead of every lane taking one
 * reading each. The lanes' work on what they read still runs side by side.
 */
export class BatchReader {
  private turn: Promise<unknown> = Promise.resolve()
  private closed = false

  constructor (private readonly log: ReadingLog, private readonly group: string, private readonly options: BatchReaderOptions) {}

  async read (consumer: string): Promise<LogEntry[]> {
    // A lane whose turn comes after close() does not block on the log: stopping waits for one read, not one per lane.
    const mine = this.turn.then(async () => this.closed ? [] : await this.readLingering(consumer))
    // The next lane waits for this read, not for its outcome.
    this.turn = mine.catch(() => {})
    return await mine
  }

  /** Reads not yet begun return nothing. */
  close (): void {
    this.closed = true
  }

  private async readLingering (consumer: string): Promise<LogEntry[]> {
    const { batch, blockMs, lingerMs } = this.options
    const first = await this.log.read(this.group, consumer, batch, blockMs)
    if (first.length === 0 || first.length >= batch || lingerMs <= 0) return first
    await new Promise(resolve => setTimeout(resolve, lingerMs))
    // Without blocking: what arrived during the linger, if anything.
    const more = await this.log.read(this.group, consumer, batch - first.length, 0)
    return [...first, ...more]
  }
}
