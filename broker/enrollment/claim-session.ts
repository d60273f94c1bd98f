import type { TLSSocket } from 'node:tls'
import type { Client } from 'aedes'
import type { Logger } from 'pino'
import { claimClientIdBelongsTo, type Claimant, type IdentityResolver, type Session } from '../../access/index.js'
import { allowed, refused, type Checked } from '../errors.js'

/**
 * A claim certificate's MQTT session (`c:<org>:<claim>:<nonce>`): not a
 * Session, so nothing that acts for an identity (publish and subscribe
 * policy, readings, forwarding) can take it; the enrollment hooks are the
 * only ones that read it, and they allow one thing: a CSR, and its answer.
 */
export interface ClaimSession extends Claimant {
  readonly clientId: string
  readonly log: Logger
  readonly connectedAt: number
}

// Keyed like access/connection-state.ts's sessions: by the connection aedes keeps as `client.conn`.
const sessions = new WeakMap<object, ClaimSession>()

export function claimSessionOf (client: Client): ClaimSession | undefined {
  return sessions.get(client.conn)
}

export function keepClaimSession (client: Client, session: ClaimSession): void {
  sessions.set(client.conn, session)
}

/** A session of either kind: its organisation, clientId and logger. */
export function isClaimSession (session: Session | ClaimSession): session is ClaimSession {
  return 'claimName' in session
}

/**
 * CONNECT with a `c:` clientId: the certificate must be a claim certificate
 * trusted in the organisation now (IdentityResolver.claimant), the clientId
 * that claim's in that organisation, and there is no Will (a claim publishes
 * nothing but its CSR). Another certificate with a `c:` clientId is refused
 * as any clientId that is not the certificate's (CONNACK 2).
 */
export function checkClaimConnect (resolver: IdentityResolver, client: Client, hasWill: boolean, log: Logger, now?: Date): Checked<ClaimSession> {
  const claimant = resolver.claimant(client.conn as unknown as TLSSocket, { clientId: client.id }, 'connect', now)
  if (!claimant.ok) {
    return claimant.code === 'BROKER_ERR_NOT_A_CLAIM'
      ? refused('BROKER_ERR_CLIENTID_MISMATCH', 'a c:<org>:<claim>:<nonce> clientId is for claim certificates only')
      : claimant
  }
  const { orgId, claimName, fingerprint } = claimant.value
  if (!claimClientIdBelongsTo(client.id, claimName, orgId)) {
    return refused('BROKER_ERR_CLIENTID_MISMATCH', `a claim certificate connects as c:${orgId}:${claimName}:<nonce>, the nonce 1-64 characters of A-Z a-z 0-9 . _ -`)
  }
  if (hasWill) return refused('BROKER_ERR_WILL_FORBIDDEN', 'a claim session publishes nothing but its CSR: no Will')
  return allowed({ orgId, claimName, fingerprint, clientId: client.id, log: log.child({ clientId: client.id, orgId, claim: claimName, fingerprint }), connectedAt: Date.now() })
}
