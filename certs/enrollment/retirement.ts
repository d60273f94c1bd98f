import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { isCertsError } from '../errors.js'
import { revokeCert } from '../issuer.js'
import type { OrgRegistry } from '../org-registry.js'
import type { RenewalRecord } from '../records.js'

/** MQGATE_RENEW_GRACE's default: a device that crashes mid-swap can still come back with the old certificate for this long. */
export const DEFAULT_RENEW_GRACE_MS = 10 * 60 * 1000

export interface RetirementOptions {
  /** MQGATE_RENEW_GRACE: from the new certificate's first use to the old one's revocation. */
  readonly graceMs: number
  readonly log: Logger
  /** How often the pending renewals (in memory) are looked at; 1 s by default. */
  readonly intervalMs?: number
  readonly now?: () => Date
}

/** The actor of the audit lines retirement writes. */
export const RETIREMENT_ACTOR = 'renewal'

/** Lets one process of those sharing the store retire a certificate; another tries again once it lapses. */
const RETIRING_LOCK_MS = 60_000

/**
 * When a renewed certificate's predecessor is revoked: `graceMs` after the
 * new one's first use, and at the old one's own expiry at the latest.
 */
export function retirementDueAt (renewal: RenewalRecord, graceMs: number): Date {
  const expiry = Date.parse(renewal.replacedExpiresOn)
  const afterUse = renewal.firstUsedAt === undefined ? Infinity : Date.parse(renewal.firstUsedAt) + graceMs
  return new Date(Math.min(expiry, afterUse))
}

/**
 * Retires replaced certificates when due: revokes each through the
 * revocation path of `cert revoke` (every broker process closes its live
 * sessions within a second and refuses it from then on), audits, and removes
 * the renewal record. Every process runs one; the schedule is derived from
 * the renewal records the registry holds, so a restart loses nothing, and a
 * lease per renewal has one process retire it, once.
 */
export class RetirementSweeper {
  private timer: NodeJS.Timeout | undefined
  private sweeping: Promise<void> | undefined

  constructor (private readonly registry: OrgRegistry, private readonly options: RetirementOptions) {}

  start (): void {
    this.timer = setInterval(() => { void this.sweepOnce() }, this.options.intervalMs ?? 1000).unref()
  }

  async close (): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
    await this.sweeping
  }

  /** One pass; a pass still running is not doubled. */
  async sweepOnce (): Promise<void> {
    this.sweeping ??= this.sweep().finally(() => { this.sweeping = undefined })
    await this.sweeping
  }

  private async sweep (): Promise<void> {
    const now = this.options.now?.() ?? new Date()
    for (const state of this.registry.list()) {
      for (const renewal of state.renewals ?? []) {
        if (retirementDueAt(renewal, this.options.graceMs) > now) continue
        try {
          await this.retire(state.org.id, renewal, now)
        } catch (err) {
          this.options.log.error({ err, orgId: state.org.id, certId: renewal.id }, 'could not retire a renewed certificate\'s predecessor; trying again')
        }
      }
    }
  }

  private async retire (orgId: string, seen: RenewalRecord, now: Date): Promise<void> {
    const store = this.registry.store
    if (!await store.lease(`renewal-retire.${seen.id}`, randomUUID(), RETIRING_LOCK_MS)) return
    // The record as stored now: another process may have retired it, or recorded a first use this one has not seen.
    const renewal = await store.get(orgId, 'renewals', seen.id)
    if (renewal === undefined || retirementDueAt(renewal, this.options.graceMs) > now) return
    const revoked = this.registry.require(orgId).revocations.some(r => r.fingerprint === renewal.replacedFingerprint)
    if (!revoked) {
      try {
        await revokeCert(this.registry, orgId, renewal.id, RETIREMENT_ACTOR)
        const reason = renewal.firstUsedAt === undefined ? 'expiry' : 'first-use'
        this.registry.audit(RETIREMENT_ACTOR, 'cert.retire', orgId, {
          certId: renewal.id, serial: renewal.replacedSerial, commonName: renewal.commonName, replacedBy: renewal.certId, reason, firstUsedAt: renewal.firstUsedAt
        })
      } catch (err) {
        // The old certificate's record is gone (a restored backup without it): nothing to revoke.
        if (!isCertsError(err, 'CERTS_ERR_CERT_NOT_FOUND')) throw err
      }
    }
    await store.remove(orgId, 'renewals', renewal.id)
    await this.registry.reload(orgId)
  }
}
