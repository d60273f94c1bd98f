import type { Client } from 'aedes'
import type { Session } from '../access/index.js'
import { orgLimitsOf, type OrgLimits, type OrgRegistry, type OrgState } from '../certs/index.js'
import { allowed, refused, type Checked } from './errors.js'
import type { BrokerObserver } from './observer.js'
import type { SharedRate } from './publish-rate.js'
import { FairShare } from './fair-share.js'

/** The fields of a session this needs. */
type SessionKey = Pick<Session, 'orgId' | 'clientId'>

interface Closable { once (event: 'close', listener: () => void): unknown, readonly closed?: boolean }

/**
 * Applies each organisation's own limits (`mqgate org limits`, certs/org-limits.ts)
 * on this broker process. Both are read from the registry at each decision,
 * so a change (made here or by another process, announced by the store's
 * watch) applies to the next CONNECT and the next PUBLISH without a restart.
 *
 * They are per process, as EMQX's listener limits are per node: with
 * `mqgate start --workers N` an organisation may hold up to N times its
 * limits, one share per worker. Counting across processes would need every
 * CONNECT to wait on Redis and a count that survives a worker's crash.
 */
export class OrgLimiter {
  /** Open connections of each organisation's authenticated clientIds (a clientId taking over its own session holds one slot). */
  private readonly held = new Map<string, Map<string, number>>()
  private readonly shares = new Map<string, FairShare>()
  private readonly limitsByRecord = new WeakMap<OrgState['org'], OrgLimits>()

  constructor (private readonly registry: OrgRegistry, private readonly observer: BrokerObserver) {}

  /**
   * Admits an authenticated session (and holds its slot until its socket
   * closes) or refuses it with BROKER_ERR_LIMIT_ORG_CONNECTIONS, answered
   * with CONNACK 3, server unavailable: a quota, not a credential problem, so
   * the device retries later (EMQX sends 3 for MQTT 5's Quota exceeded, 0x97).
   * A device reconnecting while its old session is still open replaces it,
   * as [MQTT-3.1.4-2] requires, so it is admitted however full the org is.
   * Lowering the limit closes no live session.
   */
  admitSession = <S extends SessionKey>(session: S, client: Client): Checked<S> => {
    const { orgId, clientId } = session
    const limit = this.limitsOf(orgId).connections
    const clientIds = this.held.get(orgId) ?? new Map<string, number>()
    if (limit !== undefined && !clientIds.has(clientId) && clientIds.size >= limit) {
      this.observer.orgLimited(orgId, 'BROKER_ERR_LIMIT_ORG_CONNECTIONS')
      return refused('BROKER_ERR_LIMIT_ORG_CONNECTIONS', `organisation ${orgId} has all ${limit} of its connections on this broker process in use (mqgate org limits)`)
    }
    const conn = client.conn as unknown as Closable
    if (conn.closed === true) return allowed(session)
    clientIds.set(clientId, (clientIds.get(clientId) ?? 0) + 1)
    this.held.set(orgId, clientIds)
    conn.once('close', () => this.release(orgId, clientId))
    return allowed(session)
  }

  /**
   * The organisation's publish rate, shared by its clients in turns
   * (fair-share.ts) and consulted by each client's publish-rate gate
   * (publish-rate.ts) after the client's own: over it, the org's clients are
   * read no faster than the rate allows, together, each getting its turn.
   * `orgOf` names the client's organisation once it is known.
   */
  publishGate (orgOf: () => string | undefined): SharedRate & { rate: () => number | undefined } {
    return {
      tryTake: waiter => this.shareOf(orgOf())?.tryTake(waiter) ?? true,
      wait: waiter => { const share = this.shareOf(orgOf()); if (share === undefined) setImmediate(waiter); else share.wait(waiter) },
      leave: waiter => this.shareOf(orgOf())?.leave(waiter),
      rate: () => this.shareOf(orgOf())?.rate()
    }
  }

  private release (orgId: string, clientId: string): void {
    const clientIds = this.held.get(orgId)
    const left = (clientIds?.get(clientId) ?? 1) - 1
    if (left > 0) clientIds?.set(clientId, left)
    else clientIds?.delete(clientId)
    if (clientIds?.size === 0) this.held.delete(orgId)
  }

  /** One per organisation seen; it reads the organisation's rate at each decision. */
  private shareOf (orgId: string | undefined): FairShare | undefined {
    if (orgId === undefined) return undefined
    let share = this.shares.get(orgId)
    if (share === undefined) {
      share = new FairShare(() => this.limitsOf(orgId).publishRate)
      this.shares.set(orgId, share)
    }
    return share
  }

  /** Checked once per record the registry holds: this runs for every PUBLISH. */
  private limitsOf (orgId: string): OrgLimits {
    const state = this.registry.get(orgId)
    if (state === undefined) return {}
    let limits = this.limitsByRecord.get(state.org)
    if (limits === undefined) {
      limits = orgLimitsOf(state)
      this.limitsByRecord.set(state.org, limits)
    }
    return limits
  }
}
