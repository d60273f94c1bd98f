import type { Logger } from 'pino'
import { TlsFront, type OcspCheckEvent } from '../../access/index.js'
import type { TransportDeps } from '../../broker/index.js'
import type { ReadingsBackend } from '../../bridge/index.js'
import { FetchAllowList, type LiveSessionDirectory, type OcspResponder, type OrgRegistry } from '../../certs/index.js'
import type { GatewayConfig, LogFormat } from '../../config/gateway-config.js'
import type { ResolvedKeys } from '../../config/kek-config.js'
import type { GatewayMetrics } from '../../metrics/index.js'

/**
 * What the parts of a process (broker, admin API, temps API, PKI HTTP port,
 * shared port, bridge: one file each beside this one) share, and the one
 * TLS front of its device-facing listeners. processes.ts starts the parts.
 */

/** What the entry hands over besides the environment: the admin token (a secret, kept out of the configuration) and, in tests, a logger instead of stdout. */
export interface ProcessOptions {
  readonly adminToken?: string
  readonly logger?: Logger
  /** `--log-format`: beats MQGATE_LOG_FORMAT (cli/log-format.ts). */
  readonly logFormat?: LogFormat
  /** Whether stdout is a terminal: without a flag or MQGATE_LOG_FORMAT, logs are pretty there. */
  readonly terminal?: boolean
}

export type Part = (ctx: PartContext) => Promise<void>

export interface PartContext {
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
  /** The broker's live sessions, once it has started: for the admin API's `/orgs/:org/sessions` in the same process. */
  liveSessions?: LiveSessionDirectory
  readonly ports: { mqtt?: number, ws?: number, tls?: number, admin?: number, api?: number, pki?: number }
  /** Set once every part has started: listeners bound. */
  readonly started: { value: boolean }
  onClose (stop: () => Promise<void>): void
}

/**
 * The TLS front of every device-facing listener: the per-CA OCSP check
 * (`ca ocsp on`) bounded by MQGATE_CRL_FETCH_ALLOW and counted, and stapling
 * when a responder is published (a client told of it by AIA may as well get
 * its answer in the handshake).
 */
export function createFront (cfg: Readonly<GatewayConfig>, registry: OrgRegistry, log: Logger, metrics: GatewayMetrics, ocsp: () => OcspResponder): TlsFront {
  const stapling = cfg.ocspUrlTemplate === undefined ? {} : { stapler: async (der: Buffer) => await ocsp().staple(der) }
  const checking = { log: log.child({ component: 'ocsp' }), onCheck: (event: OcspCheckEvent) => metrics.ocspChecked(event), bounds: { allow: fetchAllowOf(cfg) } }
  return new TlsFront(registry, { domain: cfg.broker.domain, defaultOrg: cfg.broker.defaultOrg, minVersion: cfg.broker.minTlsVersion, trust: { maxChainDepth: cfg.broker.maxChainDepth }, ocsp: checking }, stapling)
}

/** MQGATE_CRL_FETCH_ALLOW: where the CRL fetcher and the OCSP check may connect (both follow URLs written into certificates). */
export function fetchAllowOf (cfg: Readonly<GatewayConfig>): FetchAllowList | undefined {
  return cfg.crlFetchAllow === undefined ? undefined : new FetchAllowList(cfg.crlFetchAllow)
}
