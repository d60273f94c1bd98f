import type { Socket } from 'node:net'
import type { Logger } from 'pino'
import type { Aedes as AedesBroker, ConnectPacket } from 'aedes'
import { ConnectionLimits, TlsFront, type Identity } from '../access/index.js'
import { FirstUseRecorder, gatewayScopeOf, type LiveSessionDirectory, type OrgRegistry } from '../certs/index.js'
import { logClientEvents } from './client-events.js'
import type { BrokerConfig } from './config.js'
import { CrlWatch } from './crl-watch.js'
import { swallowEnrollmentPublishes } from './enrollment/enrollment-topics.js'
import { MqttEnrollment } from './enrollment/mqtt-enrollment.js'
import { createHooks, sessionOf } from './hooks/index.js'
import { LiveSessions } from './live-sessions.js'
import { SharedLiveSessions } from './shared-sessions.js'
import { SILENT_OBSERVER, type BrokerObserver } from './observer.js'
import { OrgLimiter } from './org-limits.js'
import { createMqttPersistence, type MqttPersistence } from './mqtt-persistence.js'
import { ReadingQueue, type ReadingSink } from './reading-queue.js'
import { purgeRevokedRetained, type RetainedStore } from './retained-purge.js'
import { settlesWithin } from './redis-close.js'
import type { GatewayScope } from './policy.js'
import { ThrottledLog } from './throttled-log.js'
import { listenMqttOverTls, type TransportDeps } from './transports/tls-listener.js'
import { listenMqttOverWss } from './transports/wss-listener.js'

export interface BrokerDeps {
  readonly registry: OrgRegistry
  readonly log: Logger
  /** Where readings are queued for the bridge, before PUBACK; without it readings only reach MQTT subscribers. */
  readonly readings?: ReadingSink
  readonly observer?: BrokerObserver
  /** The TLS front shared with the process's other device-facing listeners; one is made when absent. */
  readonly front?: TlsFront
  /** Notices renewed certificates' first use (shared with the temps API of the process); one is made when absent. */
  readonly firstUse?: FirstUseRecorder
}

export interface RunningBroker {
  readonly port: number
  /** MQTT over secure WebSocket, when MQGATE_WS_PORT is not 0. */
  readonly wsPort?: number
  readonly aedes: AedesBroker
  /** What another listener of the process (the shared port) needs to hand MQTT connections to this broker. */
  readonly transport: TransportDeps
  /** Authenticated clients per organisation on this process. */
  connectionsByOrg (): ReadonlyMap<string, number>
  /** The authenticated sessions on this process, for the admin API (`GET /orgs/:org/sessions`). */
  readonly sessions: LiveSessionDirectory
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
  const scopeOf = gatewayScopeFor(deps.registry)
  const front = deps.front ?? new TlsFront(deps.registry, { domain: cfg.domain, defaultOrg: cfg.defaultOrg, minVersion: cfg.minTlsVersion, trust: { maxChainDepth: cfg.maxChainDepth }, ocsp: { log: log.child({ component: 'ocsp' }) } })
  const mqttPersistence = createMqttPersistence(cfg.redisUrl, log)
  const isRevoked = (orgId: string, fingerprint: string): boolean => deps.registry.get(orgId)?.revocations.some(r => r.fingerprint === fingerprint) === true
  const observer = deps.observer ?? SILENT_OBSERVER
  const readings = new ReadingQueue(deps.readings)
  const orgLimiter = new OrgLimiter(deps.registry, observer)
  const enrollment = new MqttEnrollment({ registry: deps.registry, resolver: front.resolver, log: log.child({ component: 'enrollment' }) })
  const hooks = createHooks({ resolver: front.resolver, log, scopeOf, readings, retainedOwners: mqttPersistence.retainedOwners, isRevoked, observer, maxSubscriptionsPerClient: cfg.limits.maxSubscriptionsPerClient, admitSession: orgLimiter.admitSession, enrollment })
  const aedes = await createAedes(cfg, hooks, mqttPersistence)
  swallowEnrollmentPublishes(aedes)
  logClientEvents(aedes, log, throttled)
  aedes.on('connackSent', packet => observer.connack(packet.returnCode ?? 0))
  noteFirstUses(aedes, deps.firstUse ?? new FirstUseRecorder(deps.registry, log))
  aedes.on('publish', (_packet, client) => { if (client !== null) observer.messageIn() })
  const live = new LiveSessions(aedes, front.resolver, log)
  // With Redis, several broker processes may serve one deployment: the admin API lists and disconnects across them.
  const shared = cfg.redisUrl === undefined ? undefined : new SharedLiveSessions(live, cfg.redisUrl, log)
  // A CRL past its nextUpdate under a closed policy refuses its CA's devices: live ones too.
  const crlWatch = new CrlWatch(deps.registry, log, orgId => live.revalidate(orgId))
  const sockets = new Set<Socket>()
  const transport: TransportDeps = {
    front,
    aedes,
    limits: cfg.limits,
    log,
    observer,
    throttled,
    sockets,
    orgLimiter,
    connectionLimits: new ConnectionLimits({ perIp: cfg.limits.connectionsPerIp, total: cfg.limits.connectionsTotal, ratePerIp: cfg.limits.connectionRatePerIp })
  }
  const { server, port } = await listenMqttOverTls({ port: cfg.port, host: cfg.host, handshakeTimeoutMs: cfg.limits.handshakeTimeoutMs }, transport)
  const ws = cfg.wsPort === 0 ? undefined : await listenMqttOverWss({ port: cfg.wsPort, host: cfg.host, handshakeTimeoutMs: cfg.limits.handshakeTimeoutMs }, transport)

  const onRegistryChange = (orgId: string): void => {
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
  log.info({ event: 'broker.listening', port, wsPort: ws?.port, domain: cfg.domain, defaultOrg: cfg.defaultOrg, orgs: deps.registry.list().map(s => s.org.id), redis: cfg.redisUrl !== undefined, limits: cfg.limits }, 'MQTT over TLS listening')

  return {
    port,
    wsPort: ws?.port,
    aedes,
    transport,
    connectionsByOrg: () => live.counts(),
    sessions: shared ?? live,
    /** Stops accepting, lets publishes being queued finish (their readings are durable), then closes every client. */
    async close () {
      deps.registry.off('changed', onRegistryChange)
      crlWatch.close()
      // Begun now, beside aedes' close: its own Redis connections may each wait their grace on a Redis that is down.
      const sharedClosed = shared?.close()
      if (deps.front === undefined) front.close()
      const closed = Promise.all([server, ...(ws === undefined ? [] : [ws.server])].map(async listener => await new Promise(resolve => listener.close(resolve))))
      const until = Date.now() + IN_FLIGHT_GRACE_MS
      while (readings.inFlight > 0 && Date.now() < until) await new Promise(resolve => setTimeout(resolve, 20))
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
      await sharedClosed
      await mqttPersistence.close()
    }
  }
}

/** A completed CONNECT (CONNACK 0) is a use of the certificate: a renewed one's first starts its predecessor's grace (certs/enrollment/retirement.ts). */
function noteFirstUses (aedes: AedesBroker, firstUse: FirstUseRecorder): void {
  aedes.on('connackSent', (packet, client) => {
    const session = (packet.returnCode ?? 0) === 0 ? sessionOf(client) : undefined
    if (session !== undefined) firstUse.note(session.orgId, session.fingerprint)
  })
}

/** Read at each decision, so a changed gateway scope applies to the next PUBLISH. */
function gatewayScopeFor (registry: OrgRegistry): (orgId: string, identity: Identity) => GatewayScope {
  return (orgId, identity) => identity.kind === 'gateway' ? gatewayScopeOf(registry.get(orgId), identity.typeId, identity.id) : 'any'
}

async function createAedes (cfg: BrokerConfig, hooks: ReturnType<typeof createHooks>, mqttPersistence: MqttPersistence): Promise<AedesBroker> {
  const { preConnect, authenticate } = hooks
  const { Aedes } = await import('aedes')
  const aedes = await Aedes.createBroker({
    persistence: mqttPersistence.persistence,
    mq: mqttPersistence.mq,
    preConnect: (client, packet, done) => {
      capKeepalive(packet, cfg.limits.keepaliveMaxSeconds)
      preConnect(client, packet, done)
    },
    authenticate,
    authorizePublish: hooks.authorizePublish,
    authorizeSubscribe: hooks.authorizeSubscribe,
    authorizeForward: hooks.authorizeForward,
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
    // Every client's topic starts with `$org/`: the prefix test spares them the expression.
    if (!packet.topic.startsWith('$SYS/') || !unread.test(packet.topic)) return publish(packet, ...rest)
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
