import cluster from 'node:cluster'
import { readFileSync } from 'node:fs'
import type { Logger } from 'pino'
import http from 'node:http'
import { serverNameOf, TlsFront, type OcspCheckEvent } from '../access/index.js'
import { listenSharedPort, startBroker, type TransportDeps } from '../broker/index.js'
import {
  createReadingsBackend, createTempsApp, readingAdminRoutes, readingSinkFor, startBridge, startPkiHttp, startTempsApi, type ReadingsBackend, type TempsApiServerConfig
} from '../bridge/index.js'
import { crlDeadlinesOf, CrlFetcher, DEFAULT_CRL_FETCH_LIMITS, ensureAdminCredentials, FetchAllowList, ensureDemoBootstrap, expiriesOf, openRegistry, startAdminApi, DEMO_ORG, OcspResponder, type OrgRegistry } from '../certs/index.js'
import { GatewayMetrics, observabilityRoutes, PROBE_PATHS } from '../metrics/index.js'
import { loadConfig, type GatewayConfig } from '../config/gateway-config.js'
import { resolveKeys, type ResolvedKeys } from '../config/kek-config.js'
import { createRootLogger } from './logger.js'
import { welcomeText } from './welcome.js'

/** A running mqgate process: what `close` stops, in reverse order of starting. */
export interface RunningProcess {
  readonly log: Logger
  readonly ports: { readonly mqtt?: number, readonly ws?: number, readonly tls?: number, readonly admin?: number, readonly api?: number, readonly pki?: number }
  /** What the parts share, for tests that look behind the process's interfaces. */
  readonly registry: OrgRegistry
  readonly backend: ReadingsBackend
  close (): Promise<void>
}

/** What the entry hands over besides the environment: the admin token (a secret, kept out of the configuration) and, in tests, a logger instead of stdout. */
export interface ProcessOptions {
  readonly adminToken?: string
  readonly logger?: Logger
}

type Part = (ctx: PartContext) => Promise<void>

interface PartContext {
  readonly cfg: Readonly<GatewayConfig>
  readonly log: Logger
  readonly registry: OrgRegistry
  readonly backend: ReadingsBackend
  /** The key-encryption keys the registry was opened with, and the file generated for them on a first start. */
  readonly keys: ResolvedKeys
  readonly metrics: GatewayMetrics
  /** The one TLS front of the process's device-facing listeners (MQTT, WebSocket, temps API, the shared port), made by the first part that has one. */
  readonly front: () => TlsFront
  /** The managed CAs' OCSP responder: the PKI HTTP port's, and the TLS front's stapler when a responder URL is configured. */
  readonly ocsp: () => OcspResponder
  /** How the broker takes MQTT connections, once it has started: for the shared port. */
  mqtt?: TransportDeps
  readonly ports: { mqtt?: number, ws?: number, tls?: number, admin?: number, api?: number, pki?: number }
  /** Set once every part has started: listeners bound. */
  readonly started: { value: boolean }
  onClose (stop: () => Promise<void>): void
}

/**
 * `mqgate start`: every part in one process on embedded defaults (state under
 * ./data, readings in memory unless REDIS_URL is set). The first start creates
 * the demo organisation and its identities; clients without SNI land in it.
 */
export async function runStart (env: NodeJS.ProcessEnv, options: ProcessOptions, print: (text: string) => void): Promise<RunningProcess> {
  const cfg = loadConfig(env, { defaultOrg: DEMO_ORG })
  let welcome = (_ports: RunningProcess['ports']): void => {}
  const running = await runParts(cfg, options, [
    async ({ registry, log, keys }) => {
      const files = await ensureDemoBootstrap(registry, cfg.dataDir, log)
      welcome = ports => print(welcomeText(files, ports.mqtt ?? 0, ports.admin ?? 0, ports.api ?? 0, keys.generatedFile, ports.pki))
    },
    brokerPart(true), adminPart(options), tempsApiPart, pkiHttpPart, sharedPortPart, bridgePart
  ])
  welcome(running.ports)
  return running
}

/**
 * One worker of `mqgate start --workers N` (cluster.ts): every part but the
 * demo bootstrap, which the primary did once; its bridge consumer is named
 * after the worker, so the workers share the reading log's work.
 */
export async function runWorkerParts (env: NodeJS.ProcessEnv, options: ProcessOptions, index: number): Promise<RunningProcess> {
  const base = loadConfig(env, { defaultOrg: DEMO_ORG })
  const cfg = Object.freeze({ ...base, bridge: Object.freeze({ ...base.bridge, name: `${base.bridge.name}-w${index}` }) })
  const running = await runParts(cfg, options, [brokerPart(true), adminPart(options), tempsApiPart, pkiHttpPart, sharedPortPart, bridgePart])
  reportListening(running.ports)
  return running
}

/** What a worker tells its primary: where it listens (the same ports for all, even when configured as 0). */
export interface WorkerReport {
  readonly mqgate: 'listening'
  readonly ports: RunningProcess['ports']
}

function reportListening (ports: RunningProcess['ports']): void {
  if (cluster.isWorker && process.send !== undefined) process.send({ mqgate: 'listening', ports } satisfies WorkerReport)
}

/** `mqgate broker`: the MQTT broker and the admin API; with Redis it queues readings for `mqgate bridge`. */
export async function runBroker (env: NodeJS.ProcessEnv, options: ProcessOptions): Promise<RunningProcess> {
  const cfg = loadConfig(env)
  return await runParts(cfg, options, [brokerPart(cfg.redisUrl !== undefined), adminPart(options)])
}

/** `mqgate bridge`: readings from the Redis log into the store and the temps API. */
export async function runBridge (env: NodeJS.ProcessEnv, options: ProcessOptions = {}): Promise<RunningProcess> {
  const cfg = requireRedis(loadConfig(env), 'bridge')
  return await runParts(cfg, options, [bridgePart])
}

/** `mqgate api`: the temps API over the Redis reading store, and the PKI HTTP port (CRLs, OCSP). */
export async function runApi (env: NodeJS.ProcessEnv, options: ProcessOptions = {}): Promise<RunningProcess> {
  const cfg = requireRedis(loadConfig(env), 'api')
  return await runParts(cfg, options, [tempsApiPart, pkiHttpPart])
}

function requireRedis (cfg: Readonly<GatewayConfig>, verb: string): Readonly<GatewayConfig> {
  if (cfg.redisUrl === undefined) throw new Error(`mqgate ${verb} shares its readings with the other processes through Redis: set REDIS_URL (without Redis, mqgate start runs every part in one process)`)
  return cfg
}

function brokerPart (queueReadings: boolean): Part {
  return async (ctx) => {
    const { cfg, log, registry, backend, metrics, front, ports, onClose } = ctx
    const readings = queueReadings ? readingSinkFor(backend.log, cfg.bridge) : undefined
    const broker = await startBroker(cfg.broker, { registry, log, readings, observer: metrics, front: front() })
    metrics.addSources({ connectionsByOrg: () => broker.connectionsByOrg() })
    ctx.mqtt = broker.transport
    ports.mqtt = broker.port
    ports.ws = broker.wsPort
    onClose(async () => await broker.close())
    startCrlFetcher(ctx)
  }
}

/**
 * Every broker process runs a fetcher for the CRL sources (`ca crl-source`);
 * the one holding the store's lease fetches, the others see its result
 * arrive as a registry change, like an upload.
 */
function startCrlFetcher ({ cfg, log, registry, metrics, onClose }: PartContext): void {
  const limits = { ...DEFAULT_CRL_FETCH_LIMITS, allow: fetchAllowOf(cfg) }
  const fetcher = new CrlFetcher(registry, { log, limits, onOutcome: (orgId, caId, outcome) => metrics.crlFetched(orgId, caId, outcome) })
  fetcher.start()
  onClose(async () => fetcher.close())
}

/** MQGATE_CRL_FETCH_ALLOW: where the CRL fetcher and the OCSP check may connect (both follow URLs written into certificates). */
function fetchAllowOf (cfg: Readonly<GatewayConfig>): FetchAllowList | undefined {
  return cfg.crlFetchAllow === undefined ? undefined : new FetchAllowList(cfg.crlFetchAllow)
}

function adminPart (options: ProcessOptions): Part {
  return async ({ cfg, log, registry, backend, keys, metrics, ports, started, onClose }) => {
    const credentials = await ensureAdminCredentials(cfg.dataDir, options.adminToken, log, keys.keys)
    metrics.addSources({
      readingCounters: async () => await backend.deadLetters.counters(),
      readingLag: async () => await backend.log.stats(),
      redisRoundTrip: async () => await backend.ping(),
      expiries: async () => await expiriesOf(registry),
      crlDeadlines: () => crlDeadlinesOf(registry.list(), new Date()),
      registryIntact: () => registry.storeIntact
    })
    const counted = (): void => metrics.registryStoreEmptied()
    registry.on('store-emptied', counted)
    onClose(async () => { registry.off('store-emptied', counted) })
    const readiness = {
      check: async () => ({
        listening: started.value,
        // Not ready while serving a registry the store has lost: a probe sees it before any device is refused.
        // Bounded like the PING: a Redis that does not answer must not hold the probe.
        registry: await Promise.race([
          registry.checkStore().catch(() => false),
          new Promise<boolean>(resolve => setTimeout(() => resolve(false), 1000).unref())
        ]),
        ...(cfg.redisUrl === undefined ? {} : { redis: await backend.ping().then(() => true, () => false) })
      })
    }
    const admin = await startAdminApi({ ...cfg.admin, token: credentials.token, tls: credentials }, {
      registry,
      log,
      extraRoutes: [readingAdminRoutes(backend.deadLetters), observabilityRoutes(metrics, readiness)],
      publicPaths: PROBE_PATHS
    })
    ports.admin = admin.port
    onClose(async () => await admin.close())
  }
}

async function tempsApiPart ({ cfg, log, registry, backend, front, ports, onClose }: PartContext): Promise<void> {
  const api = await startTempsApi(tempsApiConfigOf(cfg), { registry, store: backend.store, log, front: front() })
  ports.api = api.port
  onClose(async () => await api.close())
}

/**
 * MQGATE_PKI_HTTP_PORT: CRLs and OCSP over plain HTTP, beside the temps API
 * (the processes that serve HTTP to relying parties; `mqgate broker` does not).
 */
async function pkiHttpPart ({ cfg, log, registry, ocsp, ports, onClose }: PartContext): Promise<void> {
  if (cfg.pkiHttp.port === 0) return
  const pki = await startPkiHttp(cfg.pkiHttp, { registry, responder: ocsp(), log })
  ports.pki = pki.port
  onClose(async () => await pki.close())
}

function tempsApiConfigOf (cfg: Readonly<GatewayConfig>): TempsApiServerConfig {
  return { ...cfg.api, domain: cfg.broker.domain, defaultOrg: cfg.broker.defaultOrg, minTlsVersion: cfg.broker.minTlsVersion, maxChainDepth: cfg.broker.maxChainDepth }
}

/**
 * MQGATE_TLS_PORT: the broker and the temps API on one more port, told apart
 * by ALPN (broker/transports/shared-port.ts); the temps API's routes run
 * there on a second app over the same store, fed the TLS sockets.
 */
async function sharedPortPart ({ cfg, log, registry, backend, front, mqtt, ports, onClose }: PartContext): Promise<void> {
  if (cfg.tlsPort === 0 || mqtt === undefined) return
  const app = await createTempsApp(tempsApiConfigOf(cfg), { registry, store: backend.store, log, front: front() }, handler => http.createServer(handler))
  await app.ready()
  const shared = await listenSharedPort({ port: cfg.tlsPort, host: cfg.broker.host, handshakeTimeoutMs: cfg.broker.limits.handshakeTimeoutMs, idleTimeoutMs: cfg.broker.limits.connectTimeoutMs }, mqtt, app.server)
  ports.tls = shared.port
  log.info({ event: 'shared-port.listening', port: shared.port }, 'MQTT, HTTPS and MQTT over WebSocket on one TLS port (ALPN)')
  onClose(async () => {
    // Stop accepting only: the broker's close (a later step) lets publishes in
    // flight finish, then ends its clients, this port's among them; waiting
    // for them here would wait for ever.
    shared.server.close()
    await app.close()
  })
}

async function bridgePart ({ cfg, log, registry, backend, ports, onClose }: PartContext): Promise<void> {
  const bridge = startBridge(cfg.bridge, {
    backend,
    registry,
    log,
    files: {
      ...(cfg.bridge.certFile === undefined || cfg.bridge.keyFile === undefined
        ? {}
        : { clientTls: { certPem: readFileSync(cfg.bridge.certFile, 'utf8'), keyPem: readFileSync(cfg.bridge.keyFile, 'utf8') } }),
      ...(cfg.bridge.tempsCaFile === undefined ? {} : { tempsCaPem: readFileSync(cfg.bridge.tempsCaFile, 'utf8') })
    },
    ownTempsUrl: `https://127.0.0.1:${ports.api ?? cfg.api.port}/devices/{type}/{id}/temps`,
    domain: cfg.broker.domain
  })
  onClose(async () => await bridge.close())
}

/** Starts the parts in order on one registry and one readings backend; closes what started if one fails. */
async function runParts (cfg: Readonly<GatewayConfig>, options: ProcessOptions, parts: readonly Part[]): Promise<RunningProcess> {
  const log = options.logger ?? createRootLogger(cfg.logLevel)
  const stops: Array<() => Promise<void>> = []
  const close = async (): Promise<void> => { for (const stop of stops.splice(0).reverse()) await stop() }
  try {
    const keys = await resolveKeys(cfg)
    const registry = await openRegistry({
      dataDir: cfg.dataDir, redisUrl: cfg.redisUrl, serverNameFor: orgId => serverNameOf(orgId, cfg.broker.domain), log, crlUrlTemplate: cfg.crlUrlTemplate, ocspUrlTemplate: cfg.ocspUrlTemplate, keys: keys.keys, pkcs11: cfg.pkcs11
    })
    stops.push(async () => await registry.close())
    const backend = createReadingsBackend(cfg.redisUrl, cfg.bridge.readingsPerDevice, log)
    stops.push(async () => await backend.close())
    const ports: PartContext['ports'] = {}
    const started = { value: false }
    let responder: OcspResponder | undefined
    const ocsp = (): OcspResponder => { responder ??= new OcspResponder(registry, { log }); return responder }
    const metrics = new GatewayMetrics()
    // `mqgate bridge` serves no device: it builds no contexts.
    let made: TlsFront | undefined
    const front = (): TlsFront => {
      if (made === undefined) {
        // Stapling follows the responder being published: a client told of it (AIA) may as well get its answer in the handshake.
        const stapling = cfg.ocspUrlTemplate === undefined ? {} : { stapler: async (der: Buffer) => await ocsp().staple(der) }
        const checking = { log: log.child({ component: 'ocsp' }), onCheck: (event: OcspCheckEvent) => metrics.ocspChecked(event), bounds: { allow: fetchAllowOf(cfg) } }
        const created = new TlsFront(registry, { domain: cfg.broker.domain, defaultOrg: cfg.broker.defaultOrg, minVersion: cfg.broker.minTlsVersion, trust: { maxChainDepth: cfg.broker.maxChainDepth }, ocsp: checking }, stapling)
        stops.push(async () => created.close())
        made = created
      }
      return made
    }
    const ctx: PartContext = { cfg, log, registry, backend, keys, metrics, front, ocsp, ports, started, onClose: stop => stops.push(stop) }
    for (const part of parts) await part(ctx)
    started.value = true
    return { log, ports, registry, backend, close }
  } catch (err) {
    await close()
    throw err
  }
}
