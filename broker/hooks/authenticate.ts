import type { Client, ConnectPacket, PublishPacket } from 'aedes'
import type { Logger } from 'pino'
import { isClaimClientId, knownStateOf, orgOfClientId, stateOf, type Admitted, type IdentityResolver, type Principal, type Session } from '../../access/index.js'
import { checkClaimConnect, isClaimSession, keepClaimSession, type ClaimSession } from '../enrollment/claim-session.js'
import { AuthError, allowed, connackFor, refused, type Checked } from '../errors.js'
import type { ScopeOf } from './topic-check.js'
import { authorizeWill } from './will.js'

export interface AuthenticateDeps {
  readonly resolver: IdentityResolver
  readonly log: Logger
  readonly scopeOf: ScopeOf
  readonly now?: () => Date
  /** A last say on an authenticated session (the organisation's connection limit, org-limits.ts). */
  readonly admitSession?: <S extends Pick<Session, 'orgId' | 'clientId'>>(session: S, client: Client) => Checked<S>
}

/**
 * aedes' CONNECT hooks over the identity path: the principal of the admitted
 * connection under its clientId (resolve.ts), then the Will, if any, is a
 * topic that identity may publish to. Username and password are ignored: the
 * certificate is the credential (as with AWS IoT Core and Mosquitto's
 * use_identity_as_username), and the password is never logged.
 */
export function createAuthenticate (deps: AuthenticateDeps) {
  const connectPackets = new WeakMap<Client, ConnectPacket>()

  function preConnect (client: Client, packet: ConnectPacket, done: (err: Error | null, ok: boolean) => void): void {
    connectPackets.set(client, packet)
    done(null, true)
  }

  function authenticate (client: Client, _username: unknown, _password: unknown, done: (err: AuthError | null, ok: boolean | null) => void): void {
    const admitted = knownStateOf(client.conn)?.admitted
    const checking = admitted === undefined ? Promise.resolve(refused('BROKER_ERR_NO_IDENTITY', 'the connection did not pass the TLS front')) : checkConnect(client, admitted)
    checking.then(checked => answer(client, admitted, checked, done), (err: Error) => answer(client, admitted, refused('BROKER_ERR_NO_IDENTITY', `identity check failed: ${err.message}`), done))
  }

  function answer (client: Client, admitted: Admitted | undefined, checked: Checked<Session | ClaimSession>, done: (err: AuthError | null, ok: boolean | null) => void): void {
    // Gone while its OCSP answer was awaited: aedes drops a late answer; nothing connected.
    if (client.closed) return done(null, false)
    if (checked.ok) {
      if (isClaimSession(checked.value)) keepClaimSession(client, checked.value)
      else stateOf(client.conn).session = checked.value
      checked.value.log.info({ event: 'client.connected', remoteAddress: admitted?.remoteAddress, clean: client.clean }, 'client connected')
      return done(null, true)
    }
    const returnCode = connackFor(checked.code)
    deps.log.warn({
      event: 'connect.refused',
      stage: 'connect',
      code: checked.code,
      returnCode,
      clientId: client.id,
      orgId: admitted?.orgId ?? orgOfClientId(client.id),
      fingerprint: admitted?.certificate.fingerprint,
      remoteAddress: admitted?.remoteAddress
    }, checked.reason)
    done(new AuthError(checked.code, checked.reason, returnCode), false)
  }

  /** The identity path's principal under this clientId (OCSP included), its Will, then the organisation's say (its connection limit). */
  async function checkConnect (client: Client, admitted: Admitted): Promise<Checked<Session | ClaimSession>> {
    // `c:<org>:<claim>:<nonce>`: a claim certificate's enrollment session (broker/enrollment/), and nothing else.
    if (isClaimClientId(client.id)) {
      const claim = checkClaimConnect(deps.resolver, client, connectPackets.get(client)?.will != null, deps.log, deps.now?.())
      return !claim.ok || deps.admitSession === undefined ? claim : deps.admitSession(claim.value, client)
    }
    const principal = await deps.resolver.principalChecked(admitted, { clientId: client.id }, 'connect', deps.now?.())
    if (!principal.ok) return principal
    const will = connectPackets.get(client)?.will as PublishPacket | null | undefined
    if (will != null) {
      const permitted = authorizeWill(principal.value, will, deps.scopeOf)
      if (!permitted.ok) return permitted
    }
    const session = sessionOf(principal.value, client)
    return deps.admitSession === undefined ? allowed(session) : deps.admitSession(session, client)
  }

  function sessionOf (principal: Principal, client: Client): Session {
    const { orgId, identity, fingerprint, certificate } = principal
    const log = deps.log.child({ clientId: client.id, orgId, identity: identity.commonName, fingerprint, serial: certificate.serial })
    return { ...principal, clientId: client.id, log, connectedAt: Date.now() }
  }

  return { preConnect, authenticate }
}
