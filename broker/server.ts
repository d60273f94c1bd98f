import { randomBytes } from 'node:crypto'
import tls from 'node:tls'
import type { AddressInfo, Socket } from 'node:net'
import type { Logger } from 'pino'
import type { Aedes as AedesBroker, ConnectPacket } from 'aedes'
import { gatewayScopeOf, TLS_HARDENING, type OrgRegistry } from '../certs/index.js'
import { createAuthenticate } from './authenticate.js'
import { createAuthorizers, type ReadingSink } from './authorize.js'
import { logClientEvents } from './client-events.js'
import { applyClientLimits } from './client-limits.js'
import type { BrokerConfig } from './config.js'
import { ConnectionGate } from './connection-gate.js'
import { ConnectionLimits } from './connection-limits.js'
import { CrlWatch } from './crl-watch.js'
import { BrokerError } from './errors.js'
import { guardFrames } from './frame-guard.js'
import type { Identity } from './identity.js'
import { LiveSessions } from './live-sessions.js'
import { SILENT_OBSERVER, type BrokerObserver } from './observer.js'
import { OrgLimiter } from './org-limits.js'
import { createMqttPersistence, type MqttPersistence } from './mqtt-persistence.js'
import { purgeRevokedRetained, type RetainedStore } from './retained-purge.js'
import { settlesWithin } from './redis-close.js'
import type { GatewayScope } from './policy.js'
import { ThrottledLog } from './throttled-log.js'
import { OrgContexts } from './tls-contexts.js'
import { rewriteUnsubscribeFilters } from './unsubscribe-rewrite.js'

export interface BrokerDeps {
  readonly registry: OrgRegistry
  readonly log: Logger
  /** Where readings are queued for the bridge, before PUBACK; without it readings only reach MQTT subscribers. */
  readonly readings?: ReadingSink
  readonly observer?: BrokerObserver
}

export interface RunningBroker {
  readonly port: number
  readonly aedes: AedesBroker
  /** Authenticated clients per organisation on this process. */
  connectionsByOrg (): ReadonlyMap<string, number>
  close (): Promise<void>
}

/** How long shutdown waits for publishes still being queued before closing their clients. */
const IN_FLIGHT_GRACE_MS = 5000

// clientIds carry the org and the identity (`a:<org>:<app>:<n>` is up to 196 characters).
const MAX_CLIENT_ID_LENGTH = 256

/** Starts Aedes behind a TLS listener whose SNI name picks the organisation. */
export async function startBroker (cfg: BrokerConfig, deps: BrokerDeps): Promise<RunningBroker> {
  const log = deps.log.child({ component: 'broker' })
  const throttled = new ThrottledLog(log)
  const gatewayScope = gatewayScopeFor(deps.registry)
  const mqttPersistence = createMqttPersistence(cfg.redisUrl, log)
  const isRevoked = (orgId: string, fingerprint: string): boolean => deps.registry.get(orgId)?.revocations.some(r => r.fingerprint === fingerprint) === true
  const observer = deps.observer ?? SILENT_OBSERVER
  const authorizers = createAuthorizers({ log, gatewayScope, readings: deps.readings, retainedOwners: mqttPersistence.retainedOwners, isRevoked, observer, maxSubscriptionsPerClient: cfg.limits.maxSubscriptionsPerClient })
  const orgLimiter = new OrgLimiter(deps.registry, observer)
  const aedes = await createAedes(cfg, deps, log, authorizers, gatewayScope, mqttPersistence, orgLimiter)
  logClientEvents(aedes, log, throttled)
  aedes.on('connackSent', packet => observer.connack(packet.returnCode ?? 0))
  aedes.on('publish', (_packet, client) => { if (client !== null) observer.messageIn() })
  const live = new LiveSessions(aedes, deps.registry, log, { maxChainDepth: cfg.maxChainDepth })
  // A CRL past its nextUpdate under a closed policy refuses its CA's devices: live ones too.
  const crlWatch = new CrlWatch(deps.registry, log, orgId => live.revalidate(orgId))
  const contexts = new OrgContexts(deps.registry, { domain: cfg.domain, defaultOrg: cfg.defaultOrg, minVersion: cfg.minTlsVersion })
  const gate = new ConnectionGate(contexts, log, observer)
  const limits = new ConnectionLimits({ perIp: cfg.limits.connectionsPerIp, total: cfg.limits.connectionsTotal, ratePerIp: cfg.limits.connectionRatePerIp })
  const server = tls.createServer({
    ...contexts.defaultContextOptions(),
    ...TLS_HARDENING,
    minVersion: cfg.minTlsVersion,
    handshakeTimeout: cfg.limits.handshakeTimeoutMs,
    requestCert: true,
    // Verification is decided by the gate, so that a refusal can be logged with the certificate it refuses.
    rejectUnauthorized: false,
    SNICallback: function (this: tls.TLSSocket | undefined, servername, done) { contexts.sniCallback(this, servername, done) }
  })

  const sockets = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    const refusal = limits.admit(socket)
    if (refusal !== undefined) {
      observer.connectionRefused(refusal)
      throttled.warn(refusal, { event: 'connection.refused', remoteAddress: socket.remoteAddress }, 'connection refused by a limit')
      socket.destroy()
      return
    }
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  server.on('secureConnection', socket => {
    const info = gate.admit(socket)
    if (info === undefined) return
    const client = aedes.handle(socket)
    guardFrames(socket, cfg.limits.maxPacketBytes, violation => {
      observer.connectionRefused(violation.code)
      throttled.warn(violation.code, { event: 'connection.closed', declared: violation.declared, limit: cfg.limits.maxPacketBytes, remoteAddress: socket.remoteAddress, clientId: client.id ?? undefined }, 'packet over the size limit')
    })
    const limited = applyClientLimits(socket, client, info.orgId, cfg.limits, { observer, throttled, orgLimiter })
    if (!limited || !rewriteUnsubscribeFilters(client, filter => authorizers.internalFilterFor(socket, filter))) {
      log.error({ event: 'broker.incompatible' }, 'aedes client has no parser to hook; refusing connections')
      socket.destroy()
    }
  })
  server.on('tlsClientError', (err: Error & { code?: string }, socket: tls.TLSSocket) => {
    const code = err instanceof BrokerError
      ? err.code
      : err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT'
        ? 'BROKER_ERR_TLS_HANDSHAKE_TIMEOUT'
        // Without SNI the server's own context answers: with no default organisation it has no certificate.
        : (!socket.servername && !contexts.orgForServername(undefined).ok ? 'BROKER_ERR_TLS_NO_SNI' : 'BROKER_ERR_TLS_HANDSHAKE')
    observer.connectionRefused(code)
    throttled.warn(code, { event: 'tls.refused', stage: 'handshake', servername: socket.servername || undefined, remoteAddress: socket.remoteAddress, tlsError: err.code, reason: err.message }, 'TLS handshake refused')
    // Node reports a handshake timeout here but leaves the connection open.
    socket.destroy()
  })

  const onRegistryChange = (orgId: string): void => {
    // New ticket keys: a session resumed from an old ticket would skip the
    // handshake's verification of a certificate that may no longer be trusted.
    server.setTicketKeys(randomBytes(48))
    contexts.rebuild(orgId)
    if (orgId === cfg.defaultOrg) {
      const options = contexts.defaultContextOptions()
      if (options !== undefined) server.setSecureContext({ ...options, ...TLS_HARDENING })
    }
    live.revalidate(orgId)
    const org = deps.registry.get(orgId)
    const store = (aedes as unknown as { persistence: RetainedStore }).persistence
    if (org !== undefined) {
      purgeRevokedRetained(org, mqttPersistence.retainedOwners, store, log).catch(err => log.error({ event: 'retained.purge-failed', orgId, err }, 'could not withdraw retained messages of revoked certificates'))
    }
  }
  deps.registry.on('changed', onRegistryChange)
  if (cfg.defaultOrg !== undefined && deps.registry.get(cfg.defaultOrg) === undefined) {
    log.warn({ event: 'broker.default-org-missing', orgId: cfg.defaultOrg }, 'the default organisation does not exist; clients without SNI are refused')
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(cfg.port, cfg.host, () => { server.off('error', reject); resolve() })
  })
  const port = (server.address() as AddressInfo).port
  log.info({ event: 'broker.listening', port, domain: cfg.domain, defaultOrg: cfg.defaultOrg, orgs: deps.registry.list().map(s => s.org.id), redis: cfg.redisUrl !== undefined, limits: cfg.limits }, 'MQTT over TLS listening')

  return {
    port,
    aedes,
    connectionsByOrg: () => live.counts(),
    /** Stops accepting, lets publishes being queued finish (their readings are durable), then closes every client. */
    async close () {
      deps.registry.off('changed', onRegistryChange)
      crlWatch.close()
      const closed = new Promise<void>(resolve => server.close(() => resolve()))
      const until = Date.now() + IN_FLIGHT_GRACE_MS
      while (authorizers.inFlight() > 0 && Date.now() < until) await new Promise(resolve => setTimeout(resolve, 20))
      const aedesClosed = new Promise<void>(resolve => aedes.close(() => resolve()))
      // A Redis that is down (or still reconnecting) would hold aedes' close until it is back.
      if (!mqttPersistence.connected() || !await settlesWithin(aedesClosed, 3000)) {
        log.warn({ event: 'broker.close-forced' }, 'Redis is not answering while closing; dropping its connections')
        mqttPersistence.abandon()
        // mqemitter-redis waits for an 'end' event from each connection; one
        // already ended never emits it again, and a shutdown must not hang on it.
        if (!await settlesWithin(aedesClosed, 1000)) log.warn({ event: 'broker.close-abandoned' }, 'the pub/sub connections did not report their end; closing anyway')
      }
      for (const socket of sockets) socket.destroy()
      await closed
      await mqttPersistence.close()
    }
  }
}

/** Read at each decision, so a changed gateway scope applies to the next PUBLISH. */
function gatewayScopeFor (registry: OrgRegistry): (orgId: string, identity: Identity) => GatewayScope {
  return (orgId, identity) => identity.kind === 'gateway' ? gatewayScopeOf(registry.get(orgId), identity.typeId, identity.id) : 'any'
}

async function createAedes (
  cfg: BrokerConfig,
  deps: BrokerDeps,
  log: Logger,
  authorizers: ReturnType<typeof createAuthorizers>,
  gatewayScope: (orgId: string, identity: Identity) => GatewayScope,
  mqttPersistence: MqttPersistence,
  orgLimiter: OrgLimiter
): Promise<AedesBroker> {
  const { preConnect, authenticate } = createAuthenticate({ registry: deps.registry, log, gatewayScope, trustPolicy: { maxChainDepth: cfg.maxChainDepth }, admitSession: orgLimiter.admitSession })
  const { Aedes } = await import('aedes')
  const aedes = await Aedes.createBroker({
    persistence: mqttPersistence.persistence,
    mq: mqttPersistence.mq,
    preConnect: (client, packet, done) => {
      capKeepalive(packet, cfg.limits.keepaliveMaxSeconds)
      preConnect(client, packet, done)
    },
    authenticate,
    authorizePublish: authorizers.authorizePublish,
    authorizeSubscribe: authorizers.authorizeSubscribe,
    authorizeForward: authorizers.authorizeForward,
    connectTimeout: cfg.limits.connectTimeoutMs,
    drainTimeout: cfg.limits.drainTimeoutMs,
    maxInflightInbound: cfg.limits.maxInflightInbound,
    heartbeatInterval: cfg.limits.heartbeatMs,
    maxClientsIdLength: MAX_CLIENT_ID_LENGTH
  })
  dropSysAnnouncements(aedes, cfg.redisUrl !== undefined)
  return aedes
}

/**
 * Aedes announces every connect and disconnect on `$SYS/<broker>/...`. No
 * client may subscribe to `$SYS` here (design.md, "Topics"), so the
 * announcements reach only aedes itself, yet each runs the whole publish
 * path. Brokers sharing a Redis need `new/clients` (it closes a session the
 * clientId left on another process, [MQTT-3.1.4-2]) and the heartbeats;
 * nothing needs `disconnect/clients`, nor `new/clients` in a single process.
 */
function dropSysAnnouncements (aedes: AedesBroker, shared: boolean): void {
  const unread = new RegExp(`^\\$SYS/[^/]+/(disconnect/clients${shared ? '' : '|new/clients'})$`)
  const publish = aedes.publish.bind(aedes) as (packet: { topic: string }, ...rest: unknown[]) => void
  // publish(packet, [client,] done): aedes passes the publishing client too.
  aedes.publish = ((packet: { topic: string }, ...rest: unknown[]) => {
    if (!unread.test(packet.topic)) return publish(packet, ...rest)
    const done = rest.find(arg => typeof arg === 'function') as (() => void) | undefined
    done?.()
  }) as unknown as typeof aedes.publish
}

/**
 * MQTT 3.1.1 has no way to tell a client its keepalive is too long (MQTT 5's
 * Server Keep Alive), so, like AWS IoT Core, the broker holds a longer or
 * disabled one to its maximum: a silent client is dropped after 1.5 × that.
 */
function capKeepalive (packet: ConnectPacket, maxSeconds: number): void {
  const asked = packet.keepalive ?? 0
  if (asked === 0 || asked > maxSeconds) (packet as { keepalive: number }).keepalive = maxSeconds
}
