import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { loadCrl } from '../ca-admin.js'
import { readSingleCertificate } from '../certificate-input.js'
import { crlFingerprint, readCrl } from '../crl.js'
import { isCertsError } from '../errors.js'
import type { OrgRegistry } from '../org-registry.js'
import type { CaRecord, CrlSourceRecord } from '../records.js'
import { DEFAULT_CRL_FETCH_LIMITS, fetchCrlBytes, type CrlFetchLimits } from './bounded-get.js'
import { redactedUrl } from './crl-source.js'

/** What one fetch came to: a new list applied, the same list again, an older list ignored, or the refusal's code. */
export type CrlFetchOutcome = 'updated' | 'unchanged' | 'older' | string

export interface CrlFetcherOptions {
  readonly log: Logger
  readonly limits?: CrlFetchLimits
  /** Each fetch's outcome, for the metric (`mqgate_crl_fetch_total`). */
  readonly onOutcome?: (orgId: string, caId: string, outcome: CrlFetchOutcome) => void
  /** How often the sources are looked at (and the lease renewed); 1 s by default. */
  readonly tickMs?: number
  /** How long the fetching process keeps its turn without renewing it; 15 s by default. */
  readonly leaseMs?: number
}

const LEASE = 'crl-fetch'
/** After a failure, or while the loaded list is about to expire (or has), tries come this often at most. */
const RETRY_MS = 60_000

/**
 * Fetches the CRLs of uploaded CAs that have a `crl-source`, every
 * `everySeconds` and once more shortly before the loaded CRL's nextUpdate,
 * and applies each new list through loadCrl, the upload's own path (signature
 * and issuer checked against the CA, audit line, registry change). The change
 * reaches every broker process through the registry store, and each closes
 * the live sessions the list now revokes. Of the processes sharing a store,
 * only the holder of the `crl-fetch` lease fetches. A failure keeps the list
 * loaded before; the CA's CRL policy decides what an expired or missing list
 * means for its devices (access/certificate-trust.ts).
 */
export class CrlFetcher {
  private readonly holder = randomUUID()
  /** When each source was last tried, and whether that went well; keyed by CA and source, so a new source starts afresh. */
  private readonly tried = new Map<string, { at: number, ok: boolean }>()
  private readonly running = new Set<string>()
  private readonly cancel = new AbortController()
  private timer: NodeJS.Timeout | undefined
  private ticking = false
  private leading = false
  private renewedAt = 0

  constructor (private readonly registry: OrgRegistry, private readonly options: CrlFetcherOptions) {}

  start (): void {
    this.timer = setInterval(() => { void this.tick() }, this.options.tickMs ?? 1000)
    this.timer.unref()
    void this.tick()
  }

  close (): void {
    clearInterval(this.timer)
    this.cancel.abort()
  }

  private async tick (): Promise<void> {
    if (this.ticking || this.cancel.signal.aborted) return
    this.ticking = true
    try {
      const sources = this.sources()
      if (sources.length === 0 || !await this.lead()) return
      const now = Date.now()
      const keys = new Set<string>()
      for (const { orgId, ca, source } of sources) {
        const key = `${orgId}/${ca.id}/${source.everySeconds}/${source.url}`
        keys.add(key)
        if (!this.running.has(key) && this.isDue(key, ca, source, now)) void this.fetchOne(key, orgId, ca, source)
      }
      // Sources changed or removed since: their history goes.
      for (const key of this.tried.keys()) if (!keys.has(key)) this.tried.delete(key)
    } finally {
      this.ticking = false
    }
  }

  private sources (): Array<{ orgId: string, ca: CaRecord, source: CrlSourceRecord }> {
    return this.registry.list().flatMap(state => state.cas.flatMap(ca =>
      ca.kind === 'uploaded' && ca.crlSource !== undefined ? [{ orgId: state.org.id, ca, source: ca.crlSource }] : []))
  }

  /**
   * Takes or keeps this process's turn at fetching; a store that does not
   * answer means no turn. The holder renews a third of the way into its lease
   * (a write each time, an fsync in the file store), so it still holds it for
   * two thirds of the lease when it skips asking.
   */
  private async lead (): Promise<boolean> {
    const leaseMs = this.options.leaseMs ?? 15_000
    // The process's monotonic clock: a wall clock set back must not hold off the renewals while the lease lapses in the store.
    if (this.leading && performance.now() - this.renewedAt < leaseMs / 3) return true
    const asked = performance.now()
    const leading = await this.registry.store.lease(LEASE, this.holder, leaseMs).catch(err => {
      this.options.log.debug({ err }, 'the CRL fetch lease could not be taken')
      return false
    })
    if (leading) this.renewedAt = asked
    if (leading !== this.leading) {
      this.leading = leading
      this.options.log.info({ event: leading ? 'crl-fetch.leading' : 'crl-fetch.following' }, leading ? 'this process fetches the CRLs of CRL sources' : 'another process fetches the CRLs of CRL sources')
    }
    return leading
  }

  private isDue (key: string, ca: CaRecord, source: CrlSourceRecord, now: number): boolean {
    const last = this.tried.get(key)
    if (last === undefined) return true
    const every = source.everySeconds * 1000
    const deadline = this.refetchBefore(ca)
    const hurried = !last.ok || (deadline !== undefined && deadline <= now)
    let nextAt = last.at + (hurried ? Math.min(every, RETRY_MS) : every)
    // One try shortly before nextUpdate, when the CA should have published the next list (RFC 5280 5.1.2.5).
    if (deadline !== undefined && deadline > last.at && deadline < nextAt) nextAt = deadline
    return now >= nextAt
  }

  /** A little before the loaded CRL's nextUpdate: a tenth of its validity, at most a minute. */
  private refetchBefore (ca: CaRecord): number | undefined {
    if (ca.crl?.nextUpdate === undefined) return undefined
    const next = Date.parse(ca.crl.nextUpdate)
    return next - Math.min(RETRY_MS, Math.max(0, (next - Date.parse(ca.crl.thisUpdate)) / 10))
  }

  private async fetchOne (key: string, orgId: string, ca: CaRecord, source: CrlSourceRecord): Promise<void> {
    this.running.add(key)
    this.tried.set(key, { at: Date.now(), ok: false })
    const where = { orgId, caId: ca.id, url: redactedUrl(source.url) }
    let outcome: CrlFetchOutcome
    try {
      outcome = await this.fetchAndApply(orgId, ca, source)
      this.tried.set(key, { at: this.tried.get(key)?.at ?? Date.now(), ok: true })
      if (outcome === 'older') this.options.log.warn({ event: 'crl.fetch-older', ...where }, 'the distribution point served a CRL older than the one loaded: kept the loaded one')
      else this.options.log.debug({ event: 'crl.fetch', ...where, outcome }, 'CRL fetched')
    } catch (err) {
      if (this.cancel.signal.aborted) return
      outcome = isCertsError(err) ? err.code : 'CERTS_ERR_CRL_FETCH_FAILED'
      this.options.log.warn({ event: 'crl.fetch-failed', ...where, code: outcome, reason: (err as Error).message },
        'could not fetch a CRL: the list loaded before (if any) still applies; the CA\'s CRL policy decides once it is missing or expired')
    } finally {
      this.running.delete(key)
    }
    this.options.onOutcome?.(orgId, ca.id, outcome)
  }

  private async fetchAndApply (orgId: string, ca: CaRecord, source: CrlSourceRecord): Promise<CrlFetchOutcome> {
    const bytes = await fetchCrlBytes(source.url, this.options.limits ?? DEFAULT_CRL_FETCH_LIMITS, this.cancel.signal)
    // Checked here before anything is written: the same list is not written again (every write is a registry change on every process).
    const loaded = this.registry.get(orgId)?.cas.find(c => c.id === ca.id)?.crl
    // The list loaded already, still fresh, is not parsed again: a CRL of millions of serials takes the event loop for a second.
    const fresh = loaded !== undefined && (loaded.nextUpdate === undefined || Date.parse(loaded.nextUpdate) > Date.now())
    if (fresh && crlFingerprint(bytes) === loaded.fingerprint) return 'unchanged'
    // The same list past its nextUpdate is not unchanged: readCrl refuses it (CERTS_ERR_CRL_EXPIRED).
    const crl = readCrl(bytes, readSingleCertificate(ca.certPem).x509)
    // A replayed older list would drop the revocations made since.
    if (loaded !== undefined && Date.parse(crl.thisUpdate) < Date.parse(loaded.thisUpdate)) return 'older'
    const updated = await loadCrl(this.registry, orgId, ca.id, bytes, 'crl-fetch')
    this.options.log.info({ event: 'crl.fetched', orgId, caId: ca.id, url: redactedUrl(source.url), revokedSerials: updated.crl?.serials.length, nextUpdate: updated.crl?.nextUpdate }, 'applied a new CRL from the CA\'s distribution point')
    return 'updated'
  }
}
