import os from 'node:os'
import path from 'node:path'
import { BROKER_DEFAULTS, BROKER_LIMIT_DEFAULTS, type BrokerConfig, type BrokerLimits } from '../broker/index.js'
import { BRIDGE_DEFAULTS, type ApiConfig, type BridgeConfig } from '../bridge/index.js'
import { DEFAULT_RENEW_GRACE_MS, NAME_PATTERN, ORG_PATTERN, type Pkcs11Config } from '../certs/index.js'
import { EnvReader } from './env-reader.js'
import { readKekConfig, type KekConfig } from './kek-config.js'
import { readPkiConfig } from './pki-config.js'

/** One process's configuration, read once from the environment by its entry and frozen. */
export interface GatewayConfig {
  /** MQGATE_DATA_DIR: registry files (without Redis) and bootstrap files; `./data` by default. */
  readonly dataDir: string
  /** REDIS_URL: when set, the registry and MQTT sessions live in Redis. */
  readonly redisUrl?: string
  /** MQGATE_LOG_LEVEL: pino level, `info` by default. */
  readonly logLevel: string
  /**
   * MQGATE_LOG_FORMAT: `json` (one object a line) or `pretty` (pino-pretty,
   * for people); unset, the entry decides (`--log-format`, else pretty when
   * stdout is a terminal).
   */
  readonly logFormat?: LogFormat
  readonly broker: BrokerConfig
  readonly admin: AdminConfig
  readonly bridge: BridgeConfig
  readonly api: ApiConfig
  /**
   * MQGATE_TLS_PORT: one more TLS port (443 behind strict firewalls) serving
   * MQTT to clients offering ALPN `mqtt` or `x-amzn-mqtt-ca`, and HTTPS (the
   * temps API, MQTT over WebSocket on /mqtt) to the rest; 0 (the default) is off.
   * Served by the processes that run both the broker and the temps API.
   */
  readonly tlsPort: number
  /**
   * MQGATE_PKI_HTTP_PORT: the managed CAs' CRLs and OCSP responders over
   * plain HTTP (8080 by default, 0 off), served by the processes that run the
   * temps API (`start`, its workers, `api`).
   */
  readonly pkiHttp: { readonly port: number, readonly host?: string }
  /**
   * MQGATE_CRL_URL: where each organisation's CRL is published, written into
   * the certificates its CA signs; `{org}` is filled in. Default: the PKI
   * HTTP port's /crl route on <org>.messaging.<domain>, or the temps API's
   * (HTTPS) when that port is off.
   */
  readonly crlUrlTemplate: string
  /**
   * MQGATE_CRL_FETCH_ALLOW: the hosts (`crl.example.com`, `*.example.com`),
   * addresses and CIDR blocks the CRL fetcher (`ca crl-source`) and the OCSP
   * check (`ca ocsp on`) may reach, comma separated; unset: anywhere. A
   * distribution point or responder URL is written by whoever made the
   * certificate.
   */
  readonly crlFetchAllow?: readonly string[]
  /**
   * MQGATE_OCSP_URL: the OCSP responder written (authorityInfoAccess) into the
   * certificates the managed CAs sign, `{org}` filled in; the TLS listeners
   * staple responses when it is set. Default: the PKI HTTP port's /ocsp/{org}
   * on <org>.messaging.<domain>; none (also `none`) when that port is off.
   */
  readonly ocspUrlTemplate?: string
  /**
   * MQGATE_KEK / MQGATE_KEK_FILE (and MQGATE_KEK_PREVIOUS / MQGATE_KEK_PREVIOUS_FILE):
   * the key-encryption key that seals every private key in the registry.
   */
  readonly kek: KekConfig
  /**
   * MQGATE_PKCS11_MODULE and MQGATE_PKCS11_PIN: the PKCS#11 library and user
   * PIN of the token holding the CA keys of organisations created with
   * `--ca-key pkcs11:...`. The PIN is a secret: never logged, never in an
   * error (not even a config error).
   */
  readonly pkcs11?: Pkcs11Config
  /** Certificates renewed over EST (certs/enrollment/). */
  readonly renewal: RenewalConfig
}

export interface RenewalConfig {
  /**
   * MQGATE_RENEW_GRACE (`10m` by default; `30s`, `1h`, `1d`, or ms): how
   * long after a renewed certificate's first use the one it replaces is
   * revoked, so a device that crashed mid-swap can come back with the old one.
   */
  readonly graceMs: number
}

/** The operator API (its token is not configuration: the entry hands MQGATE_ADMIN_TOKEN over directly). */
export interface AdminConfig {
  /** MQGATE_ADMIN_PORT: HTTPS, 9443 by default; 0 picks a free one. */
  readonly port: number
  /** MQGATE_ADMIN_HOST: address to bind, all interfaces by default. */
  readonly host?: string
  /** The web console (/console): MQGATE_CONSOLE_IDLE_MINUTES, how long a signed-in session may idle (30 by default, 1 to 1440). */
  readonly console: { readonly idleMs: number }
}

export const ADMIN_DEFAULT_PORT = 9443
export { PKI_HTTP_DEFAULT_PORT } from './pki-config.js'

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export const LOG_FORMATS = ['json', 'pretty'] as const
export type LogFormat = typeof LOG_FORMATS[number]
const DOMAIN_PATTERN = /^(?=.{1,200}$)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  readonly code = 'CONFIG_ERR_INVALID'

  constructor (readonly problems: readonly string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`)
  }
}

export interface ConfigDefaults {
  /** `mqgate start` lands clients without SNI in the demo organisation; `mqgate broker` has no default. */
  readonly defaultOrg?: string
}

export function loadConfig (env: NodeJS.ProcessEnv, defaults: ConfigDefaults = {}): Readonly<GatewayConfig> {
  const read = new EnvReader(env)
  const redisUrl = read.optionalString('REDIS_URL')
  read.require(redisUrl === undefined || /^rediss?:\/\//.test(redisUrl), 'REDIS_URL must start with redis:// or rediss://')
  const domain = read.string('MQGATE_DOMAIN', BROKER_DEFAULTS.domain).toLowerCase()
  read.require(DOMAIN_PATTERN.test(domain), `MQGATE_DOMAIN must be a DNS name, got "${domain}"`)
  const defaultOrg = read.optionalString('MQGATE_DEFAULT_ORG') ?? defaults.defaultOrg
  read.require(defaultOrg === undefined || ORG_PATTERN.test(defaultOrg), `MQGATE_DEFAULT_ORG must be an organisation id (a DNS label), got "${defaultOrg}"`)
  const apiPort = read.integer('MQGATE_API_PORT', BRIDGE_DEFAULTS.apiPort, 0, 65535)
  const config: GatewayConfig = {
    dataDir: path.resolve(read.string('MQGATE_DATA_DIR', './data')),
    redisUrl,
    logLevel: read.oneOf('MQGATE_LOG_LEVEL', 'info', LOG_LEVELS),
    logFormat: read.optionalOneOf('MQGATE_LOG_FORMAT', LOG_FORMATS),
    broker: Object.freeze({
      host: read.optionalString('MQGATE_MQTT_HOST'),
      port: read.integer('MQGATE_MQTT_PORT', BROKER_DEFAULTS.port, 0, 65535),
      wsPort: read.integer('MQGATE_WS_PORT', BROKER_DEFAULTS.wsPort, 0, 65535),
      domain,
      defaultOrg,
      redisUrl,
      minTlsVersion: BROKER_DEFAULTS.minTlsVersion,
      maxChainDepth: read.integer('MQGATE_MAX_CHAIN_DEPTH', BROKER_DEFAULTS.maxChainDepth, 1, 16),
      limits: Object.freeze(readLimits(read))
    }),
    admin: Object.freeze({
      port: read.integer('MQGATE_ADMIN_PORT', ADMIN_DEFAULT_PORT, 0, 65535),
      host: read.optionalString('MQGATE_ADMIN_HOST'),
      console: Object.freeze({ idleMs: read.integer('MQGATE_CONSOLE_IDLE_MINUTES', 30, 1, 1440) * 60_000 })
    }),
    bridge: Object.freeze(readBridgeConfig(read, env)),
    api: Object.freeze({
      port: apiPort,
      host: read.optionalString('MQGATE_API_HOST'),
      protectedHosts: readProtectedHosts(read.string('MQGATE_PROTECTED_HOSTS', '*'))
    }),
    tlsPort: read.integer('MQGATE_TLS_PORT', 0, 0, 65535),
    ...readPkiConfig(read, domain, apiPort),
    kek: readKekConfig(read, { value: 'MQGATE_KEK', file: 'MQGATE_KEK_FILE', previous: 'MQGATE_KEK_PREVIOUS', previousFile: 'MQGATE_KEK_PREVIOUS_FILE' }),
    ...readPkcs11(read),
    renewal: Object.freeze({ graceMs: read.duration('MQGATE_RENEW_GRACE', DEFAULT_RENEW_GRACE_MS, 0, 30 * 24 * 3600 * 1000) })
  }
  if (read.problems.length > 0) throw new ConfigError(read.problems)
  return Object.freeze(config)
}

function readPkcs11 (read: EnvReader): { pkcs11?: Pkcs11Config } {
  const modulePath = read.optionalString('MQGATE_PKCS11_MODULE')
  const pin = read.optionalString('MQGATE_PKCS11_PIN')
  read.require((modulePath === undefined) === (pin === undefined), 'MQGATE_PKCS11_MODULE and MQGATE_PKCS11_PIN go together')
  return modulePath === undefined || pin === undefined ? {} : { pkcs11: Object.freeze({ modulePath: path.resolve(modulePath), pin }) }
}

function readLimits (read: EnvReader): BrokerLimits {
  const d = BROKER_LIMIT_DEFAULTS
  return {
    handshakeTimeoutMs: read.integer('MQGATE_TLS_HANDSHAKE_TIMEOUT_MS', d.handshakeTimeoutMs, 100, 600_000),
    connectTimeoutMs: read.integer('MQGATE_CONNECT_TIMEOUT_MS', d.connectTimeoutMs, 100, 600_000),
    keepaliveMaxSeconds: read.integer('MQGATE_KEEPALIVE_MAX_S', d.keepaliveMaxSeconds, 1, 65_535),
    maxPacketBytes: read.integer('MQGATE_MAX_PACKET_BYTES', d.maxPacketBytes, 1024, 256 * 1024 * 1024),
    connectionsPerIp: read.integer('MQGATE_MAX_CONNECTIONS_PER_IP', d.connectionsPerIp, 1, 10_000_000),
    connectionsTotal: read.integer('MQGATE_MAX_CONNECTIONS', d.connectionsTotal, 1, 10_000_000),
    connectionRatePerIp: read.integer('MQGATE_CONNECTION_RATE_PER_IP', d.connectionRatePerIp, 1, 1_000_000),
    drainTimeoutMs: read.integer('MQGATE_DRAIN_TIMEOUT_MS', d.drainTimeoutMs, 100, 600_000),
    maxInflightInbound: read.integer('MQGATE_MAX_INFLIGHT_INBOUND', d.maxInflightInbound, 1, 65_535),
    heartbeatMs: read.integer('MQGATE_BROKER_HEARTBEAT_MS', d.heartbeatMs, 100, 3_600_000),
    maxSubscriptionsPerClient: read.integer('MQGATE_MAX_SUBSCRIPTIONS_PER_CLIENT', d.maxSubscriptionsPerClient, 1, 1_000_000),
    publishRatePerClient: read.integer('MQGATE_PUBLISH_RATE_PER_CLIENT', d.publishRatePerClient, 1, 10_000_000),
    publishBytesPerClient: read.integer('MQGATE_PUBLISH_BYTES_PER_CLIENT', d.publishBytesPerClient, 1024, 1024 * 1024 * 1024),
    maxQueuedBytesPerClient: read.integer('MQGATE_MAX_QUEUED_BYTES_PER_CLIENT', d.maxQueuedBytesPerClient, 1024, 1024 * 1024 * 1024)
  }
}

function readBridgeConfig (read: EnvReader, env: NodeJS.ProcessEnv): BridgeConfig {
  const readingEvent = read.string('MQGATE_READING_EVENT', BRIDGE_DEFAULTS.readingEvent)
  const readingFormat = read.string('MQGATE_READING_FORMAT', BRIDGE_DEFAULTS.readingFormat)
  read.require(NAME_PATTERN.test(readingEvent) && NAME_PATTERN.test(readingFormat), 'MQGATE_READING_EVENT and MQGATE_READING_FORMAT must be topic-level names ([A-Za-z0-9._-])')
  const tempsUrl = read.optionalString('MQGATE_TEMPS_URL')
  read.require(tempsUrl === undefined || /^https:\/\/[^\s]+$/.test(tempsUrl), 'MQGATE_TEMPS_URL must be an https:// URL')
  const certFile = read.optionalString('MQGATE_BRIDGE_CERT_FILE')
  const keyFile = read.optionalString('MQGATE_BRIDGE_KEY_FILE')
  read.require((certFile === undefined) === (keyFile === undefined), 'MQGATE_BRIDGE_CERT_FILE and MQGATE_BRIDGE_KEY_FILE go together')
  const name = read.string('MQGATE_BRIDGE_NAME', env.HOSTNAME ?? os.hostname())
  read.require(/^[A-Za-z0-9._-]{1,100}$/.test(name), 'MQGATE_BRIDGE_NAME must be 1-100 characters of [A-Za-z0-9._-]')
  return {
    name,
    readingEvent,
    readingFormat,
    readingsPerDevice: read.integer('MQGATE_READINGS_PER_DEVICE', BRIDGE_DEFAULTS.readingsPerDevice, 1, 10_000_000),
    tempsUrl,
    tempsServername: read.optionalString('MQGATE_TEMPS_SERVERNAME'),
    tempsCaFile: read.optionalString('MQGATE_TEMPS_CA_FILE'),
    tempsTimeoutMs: read.integer('MQGATE_TEMPS_TIMEOUT_MS', BRIDGE_DEFAULTS.tempsTimeoutMs, 100, 600_000),
    certFile,
    keyFile
  }
}

function readProtectedHosts (raw: string): '*' | string[] {
  return raw.trim() === '*' ? '*' : raw.split(',').map(h => h.trim().toLowerCase()).filter(h => h !== '')
}
