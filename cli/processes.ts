import cluster from 'node:cluster'
import type { Logger } from 'pino'
import { serverNameOf, type TlsFront } from '../access/index.js'
import { createReadingsBackend, type ReadingsBackend } from '../bridge/index.js'
import { ensureDemoBootstrap, openRegistry, DEMO_ORG, OcspResponder, type OrgRegistry } from '../certs/index.js'
import { GatewayMetrics } from '../metrics/index.js'
import { loadConfig, type GatewayConfig, type LogFormat } from '../config/gateway-config.js'
import { resolveKeys } from '../config/kek-config.js'
import { chooseLogFormat } from './log-format.js'
import { createProcessLogger } from './logger.js'
import { adminPart } from './parts/admin-part.js'
import { bridgePart } from './parts/bridge-part.js'
import { brokerPart } from './parts/broker-part.js'
import { createFront, type Part, type PartContext, type ProcessOptions } from './parts/context.js'
import { pkiHttpPart, sharedPortPart, tempsApiPart } from './parts/http-parts.js'
import { renewalPart } from './parts/renewal-part.js'
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

export type { ProcessOptions } from './parts/context.js'

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
      welcome = ports => print(welcomeText({ files, ports, dataDir: cfg.dataDir, adminTokenFromEnv: options.adminToken !== undefined, generatedKekFile: keys.generatedFile }))
    },
    brokerPart(true), adminPart(options), tempsApiPart, pkiHttpPart, sharedPortPart, bridgePart, renewalPart
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
  const running = await runParts(cfg, options, [brokerPart(true), adminPart(options), tempsApiPart, pkiHttpPart, sharedPortPart, bridgePart, renewalPart])
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
  return await runParts(cfg, options, [brokerPart(cfg.redisUrl !== undefined), adminPart(options), renewalPart])
}

/** `mqgate bridge`: readings from the Redis log into the store and the temps API. */
export async function runBridge (env: NodeJS.ProcessEnv, options: ProcessOptions = {}): Promise<RunningProcess> {
  const cfg = requireRedis(loadConfig(env), 'bridge')
  return await runParts(cfg, options, [bridgePart])
}

/** `mqgate api`: the temps API over the Redis reading store, and the PKI HTTP port (CRLs, OCSP). */
export async function runApi (env: NodeJS.ProcessEnv, options: ProcessOptions = {}): Promise<RunningProcess> {
  const cfg = requireRedis(loadConfig(env), 'api')
  return await runParts(cfg, options, [tempsApiPart, pkiHttpPart, renewalPart])
}

function requireRedis (cfg: Readonly<GatewayConfig>, verb: string): Readonly<GatewayConfig> {
  if (cfg.redisUrl === undefined) throw new Error(`mqgate ${verb} shares its readings with the other processes through Redis: set REDIS_URL (without Redis, mqgate start runs every part in one process)`)
  return cfg
}

/** The format of a process's logs: `--log-format`, else MQGATE_LOG_FORMAT, else pretty at a terminal and JSON elsewhere. */
export function logFormatOf (cfg: Readonly<GatewayConfig>, options: ProcessOptions): LogFormat {
  return chooseLogFormat({ flag: options.logFormat, env: cfg.logFormat, terminal: options.terminal === true })
}

function processLogger (cfg: Readonly<GatewayConfig>, options: ProcessOptions): Logger {
  return createProcessLogger(cfg.logLevel, logFormatOf(cfg, options))
}

/** Starts the parts in order on one registry and one readings backend; closes what started if one fails. */
async function runParts (cfg: Readonly<GatewayConfig>, options: ProcessOptions, parts: readonly Part[]): Promise<RunningProcess> {
  const log = options.logger ?? processLogger(cfg, options)
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
        const created = createFront(cfg, registry, log, metrics, ocsp)
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
