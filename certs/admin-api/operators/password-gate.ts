import { AdminError } from '../errors.js'

/**
 * At most PASSWORD_IN_FLIGHT scrypt derivations of this process at once, and
 * PASSWORD_QUEUED waiting; one more is refused at once (503
 * ADMIN_ERR_PASSWORD_BUSY). scrypt runs in libuv's thread pool (4 threads),
 * which every fs call shares: 64 guesses from 64 addresses, or 40 parallel
 * password changes of one viewer, each within its own per-address limit,
 * held all four threads, so each bearer check's file read waited seconds.
 * Two leave the pool half free; the queue smooths a few sign-ins that arrive
 * together, and refusing the rest keeps the wait of those queued short.
 */
export const PASSWORD_IN_FLIGHT = 2
export const PASSWORD_QUEUED = 8

export class PasswordGate {
  private running = 0
  private readonly waiting: Array<() => void> = []

  constructor (private readonly inFlight = PASSWORD_IN_FLIGHT, private readonly queued = PASSWORD_QUEUED) {}

  /** Runs `work` when a place is free (at once, or after those queued before it), or throws ADMIN_ERR_PASSWORD_BUSY when the queue is full. */
  async run<T> (work: () => Promise<T>): Promise<T> {
    if (this.running < this.inFlight) this.running++
    else if (this.waiting.length < this.queued) await new Promise<void>(resolve => this.waiting.push(resolve))
    else throw new AdminError('ADMIN_ERR_PASSWORD_BUSY', 'too many password checks and changes at once on this gateway: try again in a moment')
    try {
      return await work()
    } finally {
      // The place passes to the first waiting, else it is freed.
      const next = this.waiting.shift()
      if (next !== undefined) next()
      else this.running--
    }
  }
}

/** Whether `err` is the gate's refusal (the process's password checks are full), which callers answer rather than fail on. */
export function isPasswordBusy (err: unknown): boolean {
  return err instanceof AdminError && err.code === 'ADMIN_ERR_PASSWORD_BUSY'
}

/** The process's one gate: every password hash and check (sign-in, account page, PUT /operators/self/password) passes it. */
export const PASSWORD_GATE = new PasswordGate()
