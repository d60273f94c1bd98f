import type { Client, ConnectPacket, PublishPacket } from 'aedes'
import type { Logger } from 'pino'
import type { OrgRegistry } from '../certs/index.js'
import { checkCertificateTrust, type TrustPolicy } from './certificate-trust.js'
import { connectionInfoOf, type ConnectionInfo } from './connection-gate.js'
import { AuthError, allowed, connackFor, refused, type Checked } from './errors.js'
import { clientIdBelongsTo, orgOfClientId, type Identity } from './identity.js'
import { mayPublish, type GatewayScope } from './policy.js'
import { internalTopic, parsePublishTopic } from './topics.js'

/** An authenticated MQTT session: who it is, in which organisation. */
export interface Session {
  readonly orgId: string
  readonly identity: Identity
  readonly clientId: string
  readonly fingerprint: string
  readonly log: Logger
  readonly connectedAt: number
}

const sessions = new WeakMap<object, Session>()

export function sessionOf (client: Client): Session | undefined {
  return sessions.get(client.conn)
}

/** The session of a connection, for code that has the stream rather than aedes' client. */
export function sessionOfConnection (conn: object): Session | undefined {
  return sessions.get(conn)
}

export interface AuthenticateDeps {
  readonly registry: OrgRegistry
  readonly log: Logger
  readonly gatewayScope: (orgId: string, identity: Identity) => GatewayScope
  readonly now?: () => Date
  readonly trustPolicy?: TrustPolicy
  /** A last say on an authenticated session (the organisation's connection limit, org-limits.ts). */
  readonly admitSession?: (session: Session, client: Client) => Checked<Session>
}

/**
 * The CONNECT checks, in order: the TLS gate admitted the connection, its
 * certificate is trusted by the organisation now, it names a valid identity,
 * the clientId is that identity's, and the Will (if any) is a topic the
 * identity may publish to. Username and password are ignored: the
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
    const info = connectionInfoOf(client.conn)
    const checked = info === undefined
      ? refused<Session>('BROKER_ERR_NO_IDENTITY', 'the connection did not pass the TLS gate')
      : checkConnect(info, client, connectPackets.get(client))
    const result = checked.ok && deps.admitSession !== undefined ? deps.admitSession(checked.value, client) : checked
    if (result.ok) {
      sessions.set(client.conn, result.value)
      result.value.log.info({ event: 'client.connected', remoteAddress: info?.remoteAddress, clean: client.clean }, 'client connected')
      return done(null, true)
    }
    const returnCode = connackFor(result.code)
    deps.log.warn({
      event: 'connect.refused',
      stage: 'connect',
      code: result.code,
      returnCode,
      clientId: client.id,
      orgId: info?.orgId ?? orgOfClientId(client.id),
      fingerprint: info?.certificate.fingerprint,
      remoteAddress: info?.remoteAddress
    }, result.reason)
    done(new AuthError(result.code, result.reason, returnCode), false)
  }

  function checkConnect (info: ConnectionInfo, client: Client, packet: ConnectPacket | undefined): Checked<Session> {
    const orgId = info.orgId ?? orgOfClientId(client.id)
    if (orgId === undefined) return refused('BROKER_ERR_CLIENTID_MISMATCH', 'the clientId must name the organisation: d:<org>:<type>:<id>, g:<org>:<type>:<id> or a:<org>:<app>')
    const org = deps.registry.get(orgId)
    if (org === undefined) return refused('BROKER_ERR_CERT_UNTRUSTED', `no organisation ${orgId}`)
    const trust = checkCertificateTrust(info.certificate, info.presentedChain, org, deps.now?.() ?? new Date(), deps.trustPolicy)
    if (!trust.ok) return trust
    if (!info.identity.ok) return info.identity
    const identity = info.identity.value
    if (!clientIdBelongsTo(client.id, identity, orgId)) {
      return refused('BROKER_ERR_CLIENTID_MISMATCH', 'the clientId must be the certificate identity\'s: d:<org>:<type>:<id>, g:<org>:<type>:<id> or a:<org>:<app>[:<n>]')
    }
    const fingerprint = info.certificate.fingerprint
    const will = packet?.will
    if (will != null) {
      const checked = authorizeWill(orgId, identity, will as PublishPacket)
      if (!checked.ok) return refused('BROKER_ERR_WILL_FORBIDDEN', `the Will topic is refused: ${checked.reason}`)
      // Stored with the Will, so that a replay after a crash can check its owner was not revoked since.
      Object.assign(will, { ownerFingerprint: fingerprint })
    }
    const log = deps.log.child({ clientId: client.id, orgId, identity: identity.commonName, fingerprint, serial: info.certificate.serial })
    return allowed({ orgId, identity, clientId: client.id, fingerprint, log, connectedAt: Date.now() })
  }

  /** A Will is a publish the broker makes later on the client's behalf: authorized now, stored in internal form. */
  function authorizeWill (orgId: string, identity: Identity, will: PublishPacket): Checked<string> {
    const parsed = parsePublishTopic(will.topic, identity)
    if (!parsed.ok) return parsed
    const permitted = mayPublish(identity, parsed.value, deps.gatewayScope(orgId, identity))
    if (!permitted.ok) return permitted
    will.topic = internalTopic(orgId, permitted.value)
    return allowed(will.topic)
  }

  return { preConnect, authenticate }
}
