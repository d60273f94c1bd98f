import type { OrgRegistry } from '../org-registry.js'
import { managedCaOf, normalizeSerial } from '../records.js'

/**
 * The serials each organisation's managed CA issued, from the `issued`
 * records: what the responder answers `good` for. Issuance writes those
 * records quietly (no process is told), so a serial not in the set read last
 * makes it read again, in a listing that starts after the question came in
 * (so it holds every certificate issued before). Listings start at most once
 * per REREAD_MS per organisation and are shared by the questions waiting for
 * them, and a certificate issued a moment ago waits for the next listing
 * rather than being called unknown. The interval doubles after each listing
 * that found nothing new, up to REREAD_MAX_MS, and is back to REREAD_MS once
 * one finds a new certificate: the port is public and a CA's CertID hashes
 * are too, so a stream of made-up serials would otherwise list every
 * certificate the organisation ever issued once a second while it lasts.
 */

const REREAD_MS = 1_000
/** Below the PKI HTTP port's 10 s idle timeout: a question waiting for the next listing is still answered. */
const REREAD_MAX_MS = 8_000

interface Snapshot {
  readonly caId: string
  readonly serials: ReadonlySet<string>
}

export class IssuedSerials {
  private readonly snapshots = new Map<string, Snapshot>()
  private readonly reading = new Map<string, Promise<Snapshot>>()
  /** When each organisation's last listing started, and how long after it the next may start. */
  private readonly started = new Map<string, number>()
  private readonly interval = new Map<string, number>()

  constructor (private readonly registry: OrgRegistry) {}

  /** Whether the managed CA issued this serial (normalizeSerial form). */
  async has (orgId: string, serial: string, now = Date.now()): Promise<boolean> {
    const caId = managedCaOf(this.registry.require(orgId)).id
    const known = this.snapshots.get(orgId)
    if (known !== undefined && known.caId === caId && known.serials.has(serial)) return true
    const wait = Math.max(0, (this.started.get(orgId) ?? -Infinity) + (this.interval.get(orgId) ?? REREAD_MS) - now)
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
    // Issued records are only ever added: a listing no larger than the last found nothing new.
    const previous = this.snapshots.get(orgId)
    const foundNew = previous === undefined || previous.caId !== caId || snapshot.serials.size > previous.serials.size
    this.interval.set(orgId, foundNew ? REREAD_MS : Math.min(REREAD_MAX_MS, 2 * (this.interval.get(orgId) ?? REREAD_MS)))
    this.snapshots.set(orgId, snapshot)
    return snapshot
  }
}
