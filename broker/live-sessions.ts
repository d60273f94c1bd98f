import type { TLSSocket } from 'node:tls'
import type { Aedes, Client } from 'aedes'
import type { Logger } from 'pino'
import { knownStateOf, type IdentityResolver } from '../access/index.js'
import type { LiveSessionDirectory, LiveSessionRow } from '../certs/index.js'
import { claimSessionOf } from './enrollment/claim-session.js'
import { sessionOf } from './hooks/index.js'
import { transportOf } from './transports/transport-of.js'

/**
 * The authenticated clients of each organisation on this broker process, so
 * that a trust change (a revoked certificate, a CRL, a disabled CA) closes the
 * sessions it affects at once instead of at their next reconnect. Claim
 * sessions (enrollment over MQTT) are among them: a revoked claim's is closed too.
 */
export class LiveSessions implements LiveSessionDirectory {
  private readonly byOrg = new Map<string, Set<Client>>()
  /** Told when a session is added or leaves (shared-sessions.ts publishes the list for the other processes). */
  onChange: () => void = () => {}

  constructor (private readonly aedes: Aedes, private readonly resolver: IdentityResolver, private readonly log: Logger) {
    // Tracked from CONNACK, not from `clientReady`: aedes resumes reading the
    // client and replays its offline queue between the two, which can take
    // seconds, and a trust change in that gap would otherwise never reach it.
    aedes.on('connackSent', (packet, client) => {
      if ((packet.returnCode ?? 0) === 0) this.track(client)
    })
  }

  /** How many authenticated clients each organisation has on this process. */
  counts (): ReadonlyMap<string, number> {
    return new Map([...this.byOrg].map(([orgId, clients]) => [orgId, clients.size]))
  }

  /** The organisation's sessions on this process, oldest first (the admin API's `GET /orgs/:org/sessions`). */
  async list (orgId: string): Promise<readonly LiveSessionRow[]> {
    return [...this.byOrg.get(orgId) ?? []].map(rowOf).filter((row): row is LiveSessionRow => row !== undefined).sort((a, b) => a.since.localeCompare(b.since))
  }

  /** Closes the organisation's session of `clientId` on this process, as a revocation would (its Will dropped). */
  async disconnect (orgId: string, clientId: string): Promise<boolean> {
    const client = [...this.byOrg.get(orgId) ?? []].find(c => c.id === clientId)
    if (client === undefined) return false
    const session = sessionOf(client) ?? claimSessionOf(client)
    session?.log.info({ event: 'session.disconnected' }, 'disconnected by an operator')
    this.byOrg.get(orgId)?.delete(client)
    this.dropWill(client)
    client.close()
    return true
  }

  /** Re-runs the CONNECT trust check on every live session of the organisation; closes those that fail it now. */
  revalidate (orgId: string, now = new Date()): void {
    for (const client of this.byOrg.get(orgId) ?? []) this.closeIfUntrusted(client, now)
  }

  /**
   * The trust check ran at authentication, before aedes' asynchronous session
   * steps; a change made during those steps is caught by checking again here.
   */
  private track (client: Client): void {
    const session = sessionOf(client) ?? claimSessionOf(client)
    if (session === undefined) return
    const { orgId } = session
    if (this.closeIfUntrusted(client, new Date())) return
    const clients = this.byOrg.get(orgId) ?? new Set()
    clients.add(client)
    this.byOrg.set(orgId, clients)
    this.onChange()
    // The socket, not aedes' `clientDisconnect`: that one is not emitted for a client closed before it registered.
    client.conn.once('close', () => {
      this.byOrg.get(orgId)?.delete(client)
      this.onChange()
    })
  }

  private closeIfUntrusted (client: Client, now: Date): boolean {
    const identity = sessionOf(client)
    const session = identity ?? claimSessionOf(client)
    if (session === undefined) return false
    // A claim session (enrollment only) is checked as enrollment checks it: its claim certificate, trusted now.
    const trust = identity !== undefined
      ? this.resolver.recheck(identity, now)
      : this.resolver.claimant(client.conn as unknown as TLSSocket, { clientId: session.clientId }, 'live', now)
    if (trust.ok) return false
    session.log.warn({ event: 'session.closed', code: trust.code, stage: trust.stage }, trust.reason)
    this.byOrg.get(session.orgId)?.delete(client)
    this.dropWill(client)
    client.close()
    return true
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

function rowOf (client: Client): LiveSessionRow | undefined {
  const identity = sessionOf(client)
  const session = identity ?? claimSessionOf(client)
  if (session === undefined) return undefined
  return {
    identity: identity !== undefined ? identity.identity.commonName : `claim:${(session as { claimName: string }).claimName}`,
    clientId: session.clientId,
    fingerprint: session.fingerprint,
    since: new Date(session.connectedAt).toISOString(),
    remoteAddress: knownStateOf(client.conn)?.admitted?.remoteAddress ?? null,
    transport: transportOf(client.conn) ?? null
  }
}
