import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import type { OrgRegistry } from '../org-registry.js'
import type { RenewalRecord } from '../records.js'

/** How long the process recording a first use holds it against the others (until its write is announced). */
const RECORDING_LOCK_MS = 60_000

/**
 * Notices the first use of a renewed certificate: each transport calls `note`
 * once a CONNECT completed (CONNACK 0) or an HTTPS request was answered, with
 * the principal's organisation and certificate fingerprint. It costs a map
 * lookup in memory (the registry holds the organisation's pending renewals);
 * the first use is written once, whichever process of those sharing the
 * store sees it first, and starts the old certificate's grace (retirement.ts).
 */
export class FirstUseRecorder {
  private readonly recording = new Set<string>()
  private readonly indexes = new WeakMap<readonly RenewalRecord[], ReadonlyMap<string, RenewalRecord>>()

  constructor (private readonly registry: OrgRegistry, private readonly log: Logger, private readonly now: () => Date = () => new Date()) {}

  note (orgId: string, fingerprint: string): void {
    const renewals = this.registry.get(orgId)?.renewals
    if (renewals === undefined || renewals.length === 0) return
    const renewal = this.indexOf(renewals).get(fingerprint)
    if (renewal === undefined || renewal.firstUsedAt !== undefined || this.recording.has(renewal.id)) return
    this.recording.add(renewal.id)
    this.record(orgId, renewal.id, fingerprint, this.now())
      .catch(err => this.log.error({ err, orgId, certId: renewal.certId }, 'could not record a renewed certificate\'s first use'))
      .finally(() => this.recording.delete(renewal.id))
  }

  /** Resolves once the use is recorded (or was already, by another process). */
  private async record (orgId: string, renewalId: string, fingerprint: string, at: Date): Promise<void> {
    const store = this.registry.store
    // A set-if-absent across processes: only the first to take it writes, and
    // it re-reads the record first, so a first use is written once. Per
    // replacement: a superseded one's lease must not hold back its successor's.
    if (!await store.lease(`renewal-first-use.${fingerprint}`, randomUUID(), RECORDING_LOCK_MS)) return
    const stored = await store.get(orgId, 'renewals', renewalId)
    // A retried renewal (renewal-retry.ts) may have superseded the certificate used: its use is not the renewal's.
    if (stored === undefined || stored.firstUsedAt !== undefined || stored.fingerprint !== fingerprint) return
    // Compare-and-set: a retry swapping in a new replacement meanwhile wins, and this use (of a now revoked certificate) is dropped.
    if (!await store.swap(orgId, 'renewals', stored, { ...stored, firstUsedAt: at.toISOString() }, { announce: true })) return
    this.registry.audit('renewal', 'cert.first-use', orgId, { certId: stored.certId, commonName: stored.commonName, replaces: stored.id, firstUsedAt: at.toISOString() })
    await this.registry.reload(orgId)
  }

  private indexOf (renewals: readonly RenewalRecord[]): ReadonlyMap<string, RenewalRecord> {
    let index = this.indexes.get(renewals)
    if (index === undefined) {
      index = new Map(renewals.map(r => [r.fingerprint, r]))
      this.indexes.set(renewals, index)
    }
    return index
  }
}
