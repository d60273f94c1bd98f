import type { EventEmitter } from 'node:events'
import tls from 'node:tls'
import type { AddressInfo, Socket } from 'node:net'
import type { Logger } from 'pino'
import type { Aedes as AedesBroker, Client } from 'aedes'
import { gatewayScopeOf, type OrgRegistry } from '../certs/index.js'
import { createAuthenticate, sessionOf } from './authenticate.js'
import { createAuthorizers, type ReadingSink } from './authorize.js'
import type { BrokerConfig } from './config.js'
import { ConnectionGate } from './connection-gate.js'
import { BrokerError } from './errors.js'
import type { Identity } from './identity.js'
import { LiveSessions } from './live-sessions.js'
import { createMqttPersistence } from './mqtt-persistence.js'
import type { GatewayScope } from './policy.js'
import { OrgContexts } from './tls-contexts.js'
import { rewriteUnsubscribeFilters } from './unsubscribe-rewrite.js'

export interface BrokerDeps {
  readonly registry: OrgRegistry
  readonly log: Logger
  /** Where readings are queued for the bridge, before PUBACK; without it readings only reach MQTT subscribers. */
  readonly readings?: ReadingSink
}

export interface RunningBroker {
  readonly port: number
  readonly aedes: AedesBroker
  close (): Promise<void>
}

// clientIds carry the org and the identity (`a:<org>:<app>:<n>` is up to 196 characters).
const MAX_CLIENT_ID_LENGTH = 256

/** Starts Aedes behind a TLS listener whose SNI name picks the organisation. */
export async function startBroker (cfg: BrokerConfig, deps: BrokerDeps): Promise<RunningBroker> {
  const log = deps.log.child({ component: 'broker' })
  // Read on every decision, so a changed gateway scope applies to the next PUBLISH.
  const gatewayScope = (orgId: string, identity: Identity): GatewayScope =>
    identity.kind === 'gateway' ? gatewayScopeOf(deps.registry.get(orgId), identity.typeId, identity.id) : 'any'
  const { preConnect, authenticate } = createAuthenticate({ registry: deps.registry, log, gatewayScope })
  const authorizers = createAuthorizers({ log, gatewayScope, readings: deps.readings })
  const mqttPersistence = createMqttPersistence(cfg.redisUrl, log)
  const { Aedes } = await import('aedes')
  const aedes = await Aedes.createBroker({
    persistence: mqttPersistence.persistence,
    mq: mqttPersistence.mq,
    preConnect,
    authenticate,
    authorizePublish: authorizers.authorizePublish,
    authorizeSubscribe: authorizers.authorizeSubscribe,
    authorizeForward: authorizers.authorizeForward,
    connectTimeout: cfg.connectTimeoutMs,
    maxClientsIdLength: MAX_CLIENT_ID_LENGTH
  })
  logClientLifecycle(aedes, log)
  const live = new LiveSessions(aedes, deps.registry, log)
  // aedes reports persistence failures as 'error' on the broker; unheard, one would end the process.
  const brokerEvents: EventEmitter = aedes as unknown as EventEmitter
  brokerEvents.on('error', (err: Error) => log.error({ event: 'broker.error', err }, 'broker error'))

  const contexts = new OrgContexts(deps.registry, { domain: cfg.domain, defaultOrg: cfg.defaultOrg, minVersion: cfg.minTlsVersion })
  const gate = new ConnectionGate(contexts, log)
  const server = tls.createServer({
    ...contexts.defaultContextOptions(),
    minVersion: cfg.minTlsVersion,
    requestCert: true,
    // Verification is decided by the gate, so that a refusal can be logged with the certificate it refuses.
    rejectUnauthorized: false,
    SNICallback: function (this: tls.TLSSocket | undefined, servername, done) { contexts.sniCallback(this, servername, done) }
  })
  const sockets = new Set<Socket>()
  server.on('connection', socket => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  const onRegistryChange = (orgId: string): void => {
    contexts.rebuild(orgId)
    if (orgId === cfg.defaultOrg) {
      const options = contexts.defaultContextOptions()
      if (options !== undefined) server.setSecureContext(options)
    }
    live.revalidate(orgId)
  }
  deps.registry.on('changed', onRegistryChange)
  server.on('secureConnection', socket => {
    if (gate.admit(socket) === undefined) return
    const client = aedes.handle(socket)
    if (!rewriteUnsubscribeFilters(client, filter => authorizers.internalFilterFor(socket, filter))) {
      log.error({ event: 'broker.incompatible' }, 'aedes client has no parser to hook; refusing connections')
      socket.destroy()
    }
  })
  server.on('tlsClientError', (err: Error & { code?: string }, socket: tls.TLSSocket) => {
    const code = err instanceof BrokerError
      ? err.code
      // Without SNI the server's own context answers: with no default organisation it has no certificate.
      : (!socket.servername && !contexts.orgForServername(undefined).ok ? 'BROKER_ERR_TLS_NO_SNI' : 'BROKER_ERR_TLS_HANDSHAKE')
    log.warn({ event: 'tls.refused', stage: 'handshake', code, servername: socket.servername || undefined, remoteAddress: socket.remoteAddress, tlsError: err.code }, err.message)
  })
  if (cfg.defaultOrg !== undefined && deps.registry.get(cfg.defaultOrg) === undefined) {
    log.warn({ event: 'broker.default-org-missing', orgId: cfg.defaultOrg }, 'the default organisation does not exist; clients without SNI are refused')
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(cfg.port, cfg.host, () => { server.off('error', reject); resolve() })
  })
  const port = (server.address() as AddressInfo).port
  log.info({ event: 'broker.listening', port, domain: cfg.domain, defaultOrg: cfg.defaultOrg, orgs: deps.registry.list().map(s => s.org.id), redis: cfg.redisUrl !== undefined }, 'MQTT over TLS listening')

  return {
    port,
    aedes,
    async close () {
      deps.registry.off('changed', onRegistryChange)
      const closed = new Promise<void>(resolve => server.close(() => resolve()))
      await new Promise<void>(resolve => aedes.close(() => resolve()))
      for (const socket of sockets) socket.destroy()
      await closed
      await mqttPersistence.close()
    }
  }
}

function logClientLifecycle (aedes: AedesBroker, log: Logger): void {
  aedes.on('clientDisconnect', (client: Client) => {
    const session = sessionOf(client)
    session?.log.info({ event: 'client.disconnected', durationMs: Date.now() - session.connectedAt }, 'client disconnected')
  })
  aedes.on('clientError', (client: Client, err: Error) => {
    const session = sessionOf(client)
    const fields = { event: 'client.error', code: (err as BrokerError).code, reason: err.message }
    if (session !== undefined) session.log.info(fields, 'client connection closed on error')
    else log.info({ ...fields, clientId: client.id }, 'client connection closed on error')
  })
}
