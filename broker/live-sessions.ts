import type { Aedes, Client } from 'aedes'
import type { Logger } from 'pino'
import type { OrgRegistry } from '../certs/index.js'
import { sessionOf } from './authenticate.js'
import { checkCertificateTrust } from './certificate-trust.js'
import { connectionInfoOf } from './connection-gate.js'

/**
 * The authenticated clients of each organisation on this broker process, so
 * that a trust change (a revoked certificate, a CRL, a disabled CA) closes the
 * sessions it affects at once instead of at their next reconnect.
 */
export class LiveSessions {
  private readonly byOrg = new Map<string, Set<Client>>()

  constructor (private readonly aedes: Aedes, private readonly registry: OrgRegistry, private readonly log: Logger) {
    aedes.on('clientReady', client => {
      const session = sessionOf(client)
      if (session === undefined) return
      const clients = this.byOrg.get(session.orgId) ?? new Set()
      clients.add(client)
      this.byOrg.set(session.orgId, clients)
    })
    aedes.on('clientDisconnect', client => {
      const session = sessionOf(client)
      if (session !== undefined) this.byOrg.get(session.orgId)?.delete(client)
    })
  }

  /** How many authenticated clients each organisation has on this process. */
  counts (): ReadonlyMap<string, number> {
    return new Map([...this.byOrg].map(([orgId, clients]) => [orgId, clients.size]))
  }

  /** Re-runs the CONNECT trust check on every live session of the organisation; closes those that fail it now. */
  revalidate (orgId: string, now = new Date()): void {
    const org = this.registry.get(orgId)
    for (const client of this.byOrg.get(orgId) ?? []) {
      const info = connectionInfoOf(client.conn)
      const session = sessionOf(client)
      if (info === undefined || session === undefined) continue
      const trust = org === undefined
        ? { ok: false as const, code: 'BROKER_ERR_CERT_UNTRUSTED' as const, reason: 'the organisation no longer exists' }
        : checkCertificateTrust(info.certificate, info.presentedChain, org, now)
      if (trust.ok) continue
      session.log.warn({ event: 'session.closed', code: trust.code }, trust.reason)
      this.byOrg.get(orgId)?.delete(client)
      this.dropWill(client)
      client.close()
    }
  }

  /** A certificate no longer trusted has no last word: its Will is not published. */
  private dropWill (client: Client): void {
    const withWill = client as Client & { will?: unknown }
    if (withWill.will == null) return
    withWill.will = null
    const persistence = (this.aedes as Aedes & { persistence?: { delWill: (c: { id: string, brokerId: string }) => Promise<unknown> } }).persistence
    persistence?.delWill({ id: client.id, brokerId: this.aedes.id }).catch((err: Error) => this.log.error({ err }, 'could not delete a revoked client\'s Will'))
  }
}
