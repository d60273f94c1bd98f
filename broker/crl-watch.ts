import type { Logger } from 'pino'
import { crlDeadlinesOf, type OrgRegistry } from '../certs/index.js'

/** setTimeout's ceiling (about 24.8 days): a later deadline is re-armed from there. */
const MAX_TIMER_MS = 2 ** 31 - 1

/**
 * Notices the moment a loaded CRL passes its nextUpdate (RFC 5280 5.1.2.5):
 * logs one warning per CRL (a fresh CRL, with another fingerprint, may warn
 * again), and hands the organisation to `onStale` so that live sessions are
 * re-checked: under a `closed` CRL policy they are refused from then on.
 * One timer, armed for the soonest deadline and re-armed on every registry
 * change; no polling.
 */
export class CrlWatch {
  private timer: NodeJS.Timeout | undefined
  private readonly warned = new Set<string>()
  private readonly onChange = (): void => this.check()

  constructor (private readonly registry: OrgRegistry, private readonly log: Logger, private readonly onStale: (orgId: string) => void) {
    registry.on('changed', this.onChange)
    this.check()
  }

  close (): void {
    this.registry.off('changed', this.onChange)
    clearTimeout(this.timer)
  }

  private check (): void {
    clearTimeout(this.timer)
    const now = new Date()
    const deadlines = crlDeadlinesOf(this.registry.list(), now)
    const staleOrgs = new Set<string>()
    for (const d of deadlines.filter(d => d.seconds < 0)) {
      const key = `${d.orgId}/${d.caId}/${d.crlFingerprint}`
      if (this.warned.has(key)) continue
      this.warned.add(key)
      staleOrgs.add(d.orgId)
      this.log.warn({ event: 'crl.stale', orgId: d.orgId, caId: d.caId, nextUpdate: d.nextUpdate.toISOString(), policy: d.policy },
        d.policy === 'closed' ? 'a CRL passed its nextUpdate: its CA\'s devices are refused until a fresh CRL is loaded' : 'a CRL passed its nextUpdate: the last list still applies; load a fresh CRL')
    }
    for (const orgId of staleOrgs) this.onStale(orgId)
    const soonest = Math.min(...deadlines.filter(d => d.seconds >= 0).map(d => d.seconds * 1000))
    if (Number.isFinite(soonest)) {
      // A few ms past the deadline, so that the check sees it passed.
      this.timer = setTimeout(() => this.check(), Math.min(soonest + 5, MAX_TIMER_MS))
      this.timer.unref()
    }
  }
}
