import type { DeadLetters } from './dead-letters.js'
import type { ForwardedMarks } from './forwarded-marks.js'
import type { ReadingLog } from './reading-log.js'

export interface ForwardSettlementsDeps {
  readonly readings: ReadingLog
  readonly forwarded: ForwardedMarks
  readonly deadLetters: DeadLetters
}

interface Round {
  readonly ackIds: string[]
  readonly markIds: string[]
  done: Promise<void>
}

/**
 * The forward stage's bookkeeping, a round at a time: what the requests that
 * ended within `lingerMs` of each other settled goes out together (one SET
 * pipeline for the marks, one XACK, one HINCRBY), where each reading used to
 * cost its own three commands. Each caller waits for its round, so a reading
 * counts as done only once it is acknowledged; a round that fails leaves its
 * readings pending in the log, to be sent again (at least once).
 */
export class ForwardSettlements {
  private round: Round | undefined

  constructor (private readonly deps: ForwardSettlementsDeps, private readonly lingerMs: number) {}

  /** The temps API accepted it: marked, acknowledged, counted as forwarded. */
  async forwarded (entryId: string, readingId: string): Promise<void> {
    const round = this.current()
    round.ackIds.push(entryId)
    round.markIds.push(readingId)
    await round.done
  }

  /** Nothing (more) to send: acknowledged only. */
  async done (entryId: string): Promise<void> {
    const round = this.current()
    round.ackIds.push(entryId)
    await round.done
  }

  private current (): Round {
    if (this.round !== undefined) return this.round
    const round: Round = { ackIds: [], markIds: [], done: Promise.resolve() }
    round.done = new Promise(resolve => setTimeout(resolve, this.lingerMs)).then(async () => {
      if (this.round === round) this.round = undefined
      await this.settle(round)
    })
    // Callers await it; an unobserved rejection must not end the process meanwhile.
    round.done.catch(() => {})
    this.round = round
    return round
  }

  private async settle ({ ackIds, markIds }: Round): Promise<void> {
    // The marks first in the connection's order: an acknowledged reading is one the API is known to have.
    await Promise.all([
      this.deps.forwarded.mark(markIds),
      this.deps.readings.ack('forward', ackIds),
      markIds.length > 0 ? this.deps.deadLetters.count('forwarded', markIds.length) : undefined
    ])
  }
}
