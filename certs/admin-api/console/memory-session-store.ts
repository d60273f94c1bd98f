import { keyOf, newSessionId, outlived, ownerOf } from './session-keys.js'
import type { ConsoleSession, ConsoleSessionStore, SessionLimits } from './session-store.js'

interface Entry {
  readonly session: ConsoleSession
  readonly owner: string
  lastActive: number
}

/**
 * In memory, keyed by the id's hash. No total cap: a total cap drops somebody
 * (the least recently used) when anybody signs in often enough, so one viewer
 * could sign every admin out. The per-operator cap bounds the store instead,
 * by the operators there are (which only an admin makes). Expiry is checked
 * on read, so the store holds no timer; an operator's ended sessions are
 * swept at its next sign-in.
 */
export class MemorySessionStore implements ConsoleSessionStore {
  private readonly sessions = new Map<string, Entry>()
  /** Each operator's session keys, oldest first (a Set iterates in insertion order). */
  private readonly byOwner = new Map<string, Set<string>>()

  constructor (private readonly limits: SessionLimits) {}

  async create (session: ConsoleSession): Promise<string> {
    const id = newSessionId()
    const key = keyOf(id)
    const owner = ownerOf(session.credential)
    this.sessions.set(key, { session, owner, lastActive: Date.now() })
    const keys = this.byOwner.get(owner) ?? new Set<string>()
    this.byOwner.set(owner, keys.add(key))
    this.sweep(keys)
    this.trim(keys)
    return id
  }

  async touch (id: string): Promise<ConsoleSession | undefined> {
    const entry = this.live(keyOf(id))
    if (entry !== undefined) entry.lastActive = Date.now()
    return entry?.session
  }

  async peek (id: string): Promise<ConsoleSession | undefined> {
    return this.live(keyOf(id))?.session
  }

  async remove (id: string): Promise<void> {
    this.drop(keyOf(id))
  }

  async close (): Promise<void> {
    this.sessions.clear()
    this.byOwner.clear()
  }

  /** The entry of a key while it lives; an idle or outlived one is dropped. */
  private live (key: string, now = Date.now()): Entry | undefined {
    const entry = this.sessions.get(key)
    if (entry === undefined) return undefined
    if (now - entry.lastActive < this.limits.idleMs && !outlived(entry.session, this.limits.maxAgeMs, now)) return entry
    this.drop(key)
    return undefined
  }

  /** Drops an operator's sessions that ended by themselves, so they neither count against the cap nor stay in memory. */
  private sweep (keys: Set<string>): void {
    for (const key of keys) this.live(key)
  }

  /** Ends the operator's oldest sessions beyond the cap. */
  private trim (keys: Set<string>): void {
    for (const key of keys) {
      if (keys.size <= this.limits.perOperator) return
      this.drop(key)
    }
  }

  private drop (key: string): void {
    const entry = this.sessions.get(key)
    if (entry === undefined) return
    this.sessions.delete(key)
    const keys = this.byOwner.get(entry.owner)
    keys?.delete(key)
    if (keys?.size === 0) this.byOwner.delete(entry.owner)
  }
}
