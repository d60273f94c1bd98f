import type { OrgRegistry } from '../org-registry.js'
import { managedCaOf, normalizeSerial } from '../records.js'

/**
 * The serials each organisation's managed CA issued, from the `issued`
 * records: what the responder answers `good` for. Issuance writes those
 * records quietly (no process is told), so a serial not in the set read last
 * makes it read again, in a listing that starts after the question came in
 * (so it holds every certificate issued before). Listings start at most once
 * per REREAD_MS per organisation and are shared by the questions waiting for
 * them: a stream of made-up serials costs one listing per interval, not one
 * per request, and a certificate issued a moment ago waits for the next
 * listing rather than being called unknown.
 */

const REREAD_MS = 1_000

interface Snapshot {
  readonly caId: string
  readonly serials: ReadonlySet<string>
}

export class IssuedSerials {
  private readonly snapshots = new Map<string, Snapshot>()
  private readonly reading = new Map<string, Promise<Snapshot>>()
  /** When each organisation's last listing started. */
  private readonly started = new Map<string, number>()

  constructor (private readonly registry: OrgRegistry) {}

  /** Whether the managed CA issued this serial (normalizeSerial form). */
  async has (orgId: string, serial: string, now = Date.now()): Promise<boolean> {
    const caId = managedCaOf(this.registry.require(orgId)).id
    const known = this.snapshots.get(orgId)
    if (known !== undefined && known.caId === caId && known.serials.has(serial)) return true
    const wait = Math.max(0, (this.started.get(orgId) ?? -Infinity) + REREAD_MS - now)
    return (await this.reread(orgId, caId, wait)).serials.has(serial)
  }

  /** The next listing: the one waiting to start if there is one (it starts after this question), a new one otherwise. */
  private async reread (orgId: string, caId: string, waitMs: number): Promise<Snapshot> {
    let pending = this.reading.get(orgId)
    if (pending === undefined) {
      pending = new Promise<void>(resolve => setTimeout(resolve, waitMs).unref())
        .then(async () => {
          // Questions from here on wait for the listing after this one: this one may have begun before their certificate was recorded.
          this.reading.delete(orgId)
          return await this.read(orgId, caId)
        })
      this.reading.set(orgId, pending)
    }
    return await pending
  }

  private async read (orgId: string, caId: string): Promise<Snapshot> {
    this.started.set(orgId, Date.now())
    const records = await this.registry.store.list(orgId, 'issued')
    const snapshot = { caId, serials: new Set(records.filter(r => r.caId === caId).map(r => normalizeSerial(r.serial))) }
    this.snapshots.set(orgId, snapshot)
    return snapshot
  }
}
