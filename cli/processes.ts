import type { Logger } from 'pino'
import { startBroker } from '../broker/index.js'
import { ensureAdminCredentials, ensureDemoBootstrap, openRegistry, startAdminApi, DEMO_ORG, type BootstrapFiles } from '../certs/index.js'
import { loadConfig, type GatewayConfig } from '../config/gateway-config.js'
import { createRootLogger } from './logger.js'
import { welcomeText } from './welcome.js'

/** A running mqgate process: what `close` stops, in reverse order of starting. */
export interface RunningProcess {
  readonly log: Logger
  readonly mqttPort: number
  readonly adminPort: number
  close (): Promise<void>
}

/** Secrets the entry hands over outside the configuration object. */
export interface ProcessSecrets {
  readonly adminToken?: string
}

/**
 * `mqgate start`: every part in one process on embedded defaults (state under
 * ./data, no Redis needed). The first start creates the demo organisation and
 * its identities; clients without SNI land in it.
 */
export async function runStart (env: NodeJS.ProcessEnv, secrets: ProcessSecrets, print: (text: string) => void): Promise<RunningProcess> {
  const cfg = loadConfig(env, { defaultOrg: DEMO_ORG })
  let files: BootstrapFiles | undefined
  const running = await runGateway(cfg, secrets, async (registry, log) => { files = await ensureDemoBootstrap(registry, cfg.dataDir, log) })
  if (files !== undefined) print(welcomeText(files, running.mqttPort, running.adminPort))
  return running
}

/** `mqgate broker`: the MQTT broker and the admin API, for deployments that run the parts separately. */
export async function runBroker (env: NodeJS.ProcessEnv, secrets: ProcessSecrets): Promise<RunningProcess> {
  return await runGateway(loadConfig(env), secrets, async () => {})
}

async function runGateway (
  cfg: Readonly<GatewayConfig>,
  secrets: ProcessSecrets,
  prepare: (registry: Awaited<ReturnType<typeof openRegistry>>, log: Logger) => Promise<void>
): Promise<RunningProcess> {
  const log = createRootLogger(cfg.logLevel)
  const registry = await openRegistry({ dataDir: cfg.dataDir, redisUrl: cfg.redisUrl, domain: cfg.broker.domain, log })
  const stops: Array<() => Promise<void>> = [async () => await registry.close()]
  const close = async (): Promise<void> => { for (const stop of stops.splice(0).reverse()) await stop() }
  try {
    await prepare(registry, log)
    const credentials = await ensureAdminCredentials(cfg.dataDir, secrets.adminToken)
    const broker = await startBroker(cfg.broker, { registry, log })
    stops.push(async () => await broker.close())
    const admin = await startAdminApi({ ...cfg.admin, token: credentials.token, tls: credentials }, { registry, log })
    stops.push(async () => await admin.close())
    return { log, mqttPort: broker.port, adminPort: admin.port, close }
  } catch (err) {
    await close()
    throw err
  }
}
