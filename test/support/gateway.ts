import { startBroker, type BrokerObserver, type RunningBroker } from '../../broker/index.js'
import { BROKER_DEFAULTS, type BrokerLimits } from '../../broker/config.js'
import { ensureAdminCredentials, logInvalidRecords, managedCaOf, openOperatorStore, openRegistry, startAdminApi, type OrgRegistry, type RoutePlugin } from '../../certs/index.js'
import { testKeyRing } from './kek.js'
import { createLogSink, type LogSink } from './log-sink.js'
import { managedCaKeyOf, mintProfiled, type TestCert } from './pki.js'
import { startTestRedis } from './redis-server.js'
import { makeTempDir } from './temp-dir.js'
import { serverNameOf } from '../../access/index.js'

export interface TestGatewayOptions {
  /** Organisations to create when missing (a shared Redis may already hold them). */
  readonly orgs?: readonly string[]
  readonly defaultOrg?: string
  readonly redisUrl?: string
  /** Reuse a data dir (a restart); a fresh temp dir otherwise. */
  readonly dataDir?: string
  /** More admin API routes, as `mqgate start` adds the bridge's (`readingAdminRoutes`). */
  readonly adminRoutes?: readonly RoutePlugin[]
  readonly port?: number
  /** MQTT over secure WebSocket on this port; off (0) by default. */
  readonly wsPort?: number
  /** Limits to override (small timeouts and caps for the hardening tests). */
  readonly limits?: Partial<BrokerLimits>
  /** Where the broker reports what it counts (a GatewayMetrics to read counters back). */
  readonly observer?: BrokerObserver
  /** How long a console session may idle (MQGATE_CONSOLE_IDLE_MINUTES, which cannot go below a minute); 30 minutes by default. */
  readonly consoleIdleMs?: number
}

export interface TestGateway {
  readonly port: number
  /** The secure WebSocket port, when `wsPort` was given. */
  readonly wsPort?: number
  /** The admin API, as the CLI reaches it. */
  readonly admin: { readonly port: number, readonly url: string, readonly token: string, readonly caPem: string, readonly caFile: string }
  readonly registry: OrgRegistry
  readonly broker: RunningBroker
  readonly logs: LogSink
  readonly dataDir: string
  /** The organisation's managed CA: what its clients trust for the server certificate. */
  caOf (orgId: string): string
  /** A client certificate of the organisation's managed CA, signed with its key by the test (not on the record). */
  issue (orgId: string, commonName: string): TestCert
  serverName (orgId: string): string
  /** Stops the broker; keeps the data dir when `keepData`, for a restart. */
  close (options?: { keepData?: boolean }): Promise<void>
}

/** The real broker on port 0 with a real registry (files, or Redis when `redisUrl`). */
export async function startTestGateway (options: TestGatewayOptions = {}): Promise<TestGateway> {
  const temp = options.dataDir === undefined ? await makeTempDir('gateway') : undefined
  const dataDir = options.dataDir ?? (temp as { dir: string }).dir
  const logs = createLogSink()
  const registry = await openRegistry({ dataDir, redisUrl: options.redisUrl, serverNameFor: orgId => serverNameOf(orgId, BROKER_DEFAULTS.domain), log: logs.logger, crlUrlTemplate: 'https://{org}.messaging.localhost:8443/crl/{org}.crl', keys: testKeyRing() })
  for (const orgId of options.orgs ?? []) {
    if (registry.get(orgId) === undefined) await registry.createOrg(orgId)
  }
  const credentials = await ensureAdminCredentials(dataDir, undefined)
  const broker = await startBroker({
    ...BROKER_DEFAULTS,
    port: options.port ?? 0,
    wsPort: options.wsPort ?? 0,
    host: '127.0.0.1',
    defaultOrg: options.defaultOrg,
    redisUrl: options.redisUrl,
    limits: { ...BROKER_DEFAULTS.limits, ...options.limits }
  }, { registry, log: logs.logger, observer: options.observer })
  const operators = openOperatorStore({ dataDir, redisUrl: options.redisUrl, onInvalid: logInvalidRecords(logs.logger) })
  const admin = await startAdminApi({ port: 0, host: '127.0.0.1', token: credentials.token, tls: credentials, ...(options.consoleIdleMs === undefined ? {} : { console: { idleMs: options.consoleIdleMs } }) }, { registry, log: logs.logger, operators, liveSessions: broker.sessions, extraRoutes: options.adminRoutes })
  return {
    port: broker.port,
    wsPort: broker.wsPort,
    admin: { port: admin.port, url: `https://127.0.0.1:${admin.port}`, token: credentials.token, caPem: credentials.caPem, caFile: credentials.caFile },
    registry,
    broker,
    logs,
    dataDir,
    caOf: orgId => managedCaOf(registry.require(orgId)).certPem,
    issue: (orgId, commonName) => {
      return mintProfiled(managedCaKeyOf(registry, orgId), 'client', [commonName])
    },
    serverName: orgId => registry.serverNameFor(orgId),
    async close (closeOptions = {}) {
      await admin.close()
      await operators.close()
      await broker.close()
      await registry.close()
      if (closeOptions.keepData !== true) await temp?.remove()
    }
  }
}

/** The backends the session tests run on: in memory, and a private redis-server. */
export const BACKENDS = ['memory', 'Redis'] as const

/** A gateway on `backend` (for Redis, a private redis-server started for it); `close` stops both. */
export async function startGatewayOn (backend: typeof BACKENDS[number], options: TestGatewayOptions = {}): Promise<TestGateway> {
  const redis = backend === 'Redis' ? await startTestRedis() : undefined
  const gw = await startTestGateway({ ...options, redisUrl: redis?.url })
  return {
    ...gw,
    async close (closeOptions) {
      await gw.close(closeOptions)
      await redis?.stop()
    }
  }
}
