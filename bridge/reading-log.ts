import { BridgeError } from './errors.js'

/**
 * The durable queue between the broker and the bridge: the broker appends an
 * accepted reading before it acknowledges it to the device, and each bridge
 * stage (a consumer group: `store`, `forward`) reads, acknowledges, and
 * re-claims what a crashed or failing consumer left pending — Redis streams'
 * model, which the in-memory log of embedded mode reproduces.
 */

export interface ReadingMessage {
  readonly orgId: string
  readonly typeId: string
  readonly deviceId: string
  readonly payload: Buffer
  readonly receivedAt: number
}

export interface LogEntry extends ReadingMessage {
  readonly id: string
  /** How many times the entry has been handed to a consumer of the group, this time included. */
  readonly deliveries: number
}

export interface ReadingLog {
  /** Resolves once the entry is stored (in Redis: written; its durability is Redis's AOF setting). */
  append (message: ReadingMessage): Promise<string>
  /**
   * Entries for `consumer` of `group`: first those it was handed before and
   * did not acknowledge (a restart under the same name resumes them), then new
   * ones, waiting up to `blockMs` for some.
   */
  read (group: string, consumer: string, count: number, blockMs: number): Promise<LogEntry[]>
  ack (group: string, ids: readonly string[]): Promise<void>
  /**
   * Pending entries of any consumer of the group idle for at least
   * `waitFor(deliveries, heldBySelf)`, handed to `consumer`. An entry another
   * consumer holds may be in its hands right now: wait longer for those.
   */
  claim (group: string, consumer: string, waitFor: ClaimDelay, count: number): Promise<LogEntry[]>
  /** Drops entries every group has acknowledged. */
  trim (): Promise<void>
  /** Per group: entries handed out and not acknowledged, and entries not handed out yet (the bridge's lag). */
  stats (): Promise<Array<{ group: string, pending: number, lag: number }>>
  /** Ends the log's connections; a `read` afterwards rejects with BRIDGE_ERR_CLOSED. */
  close (): Promise<void>
}

export const READING_GROUPS = ['store', 'forward'] as const

/** How long a pending entry must have been idle before `claim` takes it. */
export type ClaimDelay = (deliveries: number, heldBySelf: boolean) => number

interface Pending {
  consumer: string
  deliveredAt: number
  deliveries: number
}

interface Stored extends ReadingMessage {
  readonly id: string
  readonly seq: number
}

/**
 * The log of `mqgate start` on embedded defaults: in this process's memory, so
 * it survives a failing temps API or store, not a crash of the process.
 */
export class MemoryReadingLog implements ReadingLog {
  private entries: Stored[] = []
  private readonly byId = new Map<string, Stored>()
  private seq = 0
  private readonly groups = new Map<string, { next: number, pending: Map<string, Pending>, resumed: Set<string> }>()
  private waiters: Array<() => void> = []
  private closed = false

  constructor (groups: readonly string[] = READING_GROUPS) {
    for (const group of groups) this.groups.set(group, { next: 0, pending: new Map(), resumed: new Set() })
  }

  async append (message: ReadingMessage): Promise<string> {
    const seq = ++this.seq
    const id = `${message.receivedAt}-${seq}`
    const stored = { ...message, id, seq }
    this.entries.push(stored)
    this.byId.set(id, stored)
    for (const wake of this.waiters.splice(0)) wake()
    return id
  }

  async read (group: string, consumer: string, count: number, blockMs: number): Promise<LogEntry[]> {
    if (this.closed) throw new BridgeError('BRIDGE_ERR_CLOSED', 'the reading log is closed')
    const state = this.group(group)
    if (!state.resumed.has(consumer)) {
      state.resumed.add(consumer)
      const own = [...state.pending].filter(([, p]) => p.consumer === consumer).slice(0, count)
      if (own.length > 0) return own.map(([id]) => this.deliver(state, id, consumer))
    }
    // Wait on what a read would hand out, not on a count derived from it: a
    // loop that is never made to wait here starves the event loop (issue 18).
    let fresh = this.fresh(state, count)
    if (fresh.length === 0 && blockMs > 0) {
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, blockMs)
        this.waiters.push(() => { clearTimeout(timer); resolve() })
      })
      fresh = this.fresh(state, count)
    }
    if (fresh.length > 0) state.next = fresh[fresh.length - 1].seq
    return fresh.map(e => this.deliver(state, e.id, consumer))
  }

  async ack (group: string, ids: readonly string[]): Promise<void> {
    const state = this.group(group)
    for (const id of ids) state.pending.delete(id)
  }

  async claim (group: string, consumer: string, waitFor: ClaimDelay, count: number): Promise<LogEntry[]> {
    const state = this.group(group)
    const now = Date.now()
    const due = [...state.pending].filter(([, p]) => now - p.deliveredAt >= waitFor(p.deliveries, p.consumer === consumer)).slice(0, count)
    return due.map(([id]) => this.deliver(state, id, consumer))
  }

  async trim (): Promise<void> {
    const groups = [...this.groups.values()]
    const kept = new Set(groups.flatMap(g => [...g.pending.keys()]))
    const floor = Math.min(...groups.map(g => g.next))
    this.entries = this.entries.filter(e => {
      const keep = e.seq > floor || kept.has(e.id)
      if (!keep) this.byId.delete(e.id)
      return keep
    })
  }

  async stats (): Promise<Array<{ group: string, pending: number, lag: number }>> {
    return [...this.groups].map(([group, state]) => ({ group, pending: state.pending.size, lag: this.unread(state) }))
  }

  async close (): Promise<void> {
    this.closed = true
    for (const wake of this.waiters.splice(0)) wake()
  }

  private deliver (state: { pending: Map<string, Pending> }, id: string, consumer: string): LogEntry {
    const entry = this.byId.get(id)
    if (entry === undefined) throw new Error(`reading log entry ${id} is gone`)
    const previous = state.pending.get(id)
    const pending = { consumer, deliveredAt: Date.now(), deliveries: (previous?.deliveries ?? 0) + 1 }
    state.pending.set(id, pending)
    const { seq: _seq, ...message } = entry
    return { ...message, deliveries: pending.deliveries }
  }

  private fresh (state: { next: number }, count: number): Stored[] {
    return this.entries.filter(e => e.seq > state.next).slice(0, count)
  }

  /**
   * Entries appended after the group's last read. Counted from the last
   * sequence number handed out by append, not from the newest entry kept: trim
   * may keep only an older entry still pending, and its seq minus `next` was
   * negative (issue 18). Every seq above `next` is kept by trim, so the
   * difference is exact.
   */
  private unread (state: { next: number }): number {
    return this.seq - state.next
  }

  private group (name: string): { next: number, pending: Map<string, Pending>, resumed: Set<string> } {
    const state = this.groups.get(name)
    if (state === undefined) throw new Error(`no consumer group ${name}`)
    return state
  }
}
