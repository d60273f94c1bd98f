import type { Client, ConnectPacket, PublishPacket } from 'aedes'
import type { Logger } from 'pino'
import { knownStateOf, orgOfClientId, type IdentityResolver, type Session } from '../../access/index.js'
import { AuthError, CONNACK } from '../errors.js'
import type { ScopeOf } from './topic-check.js'
import { authorizeWill } from './will.js'

export interface AuthenticateDeps {
  readonly resolver: IdentityResolver
  readonly log: Logger
  readonly scopeOf: ScopeOf
  readonly now?: () => Date
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
    const state = knownStateOf(client.conn)
    const admitted = state?.admitted
    const principal = admitted === undefined
      ? { ok: false as const, code: 'BROKER_ERR_NO_IDENTITY' as const, reason: 'the connection did not pass the TLS front', stage: 'connect' as const, orgId: undefined }
      : deps.resolver.principal(admitted, { clientId: client.id }, 'connect', deps.now?.())
    const will = connectPackets.get(client)?.will as PublishPacket | null | undefined
    const checked = principal.ok && will != null ? authorizeWill(principal.value, will, deps.scopeOf) : principal
    if (principal.ok && checked.ok && state !== undefined) {
      const { orgId, identity, fingerprint, certificate } = principal.value
      const log = deps.log.child({ clientId: client.id, orgId, identity: identity.commonName, fingerprint, serial: certificate.serial })
      const session: Session = { ...principal.value, clientId: client.id, log, connectedAt: Date.now() }
      state.session = session
      log.info({ event: 'client.connected', remoteAddress: admitted?.remoteAddress, clean: client.clean }, 'client connected')
      return done(null, true)
    }
    if (checked.ok) return done(new AuthError('BROKER_ERR_NO_IDENTITY', 'no connection state', CONNACK.NOT_AUTHORIZED), false)
    const returnCode = checked.code === 'BROKER_ERR_CLIENTID_MISMATCH' ? CONNACK.IDENTIFIER_REJECTED : CONNACK.NOT_AUTHORIZED
    deps.log.warn({
      event: 'connect.refused',
      stage: 'connect',
      code: checked.code,
      returnCode,
      clientId: client.id,
      orgId: principal.ok ? principal.value.orgId : principal.orgId ?? admitted?.orgId ?? orgOfClientId(client.id),
      fingerprint: admitted?.certificate.fingerprint,
      remoteAddress: admitted?.remoteAddress
    }, checked.reason)
    done(new AuthError(checked.code, checked.reason, returnCode), false)
  }

  return { preConnect, authenticate }
}
