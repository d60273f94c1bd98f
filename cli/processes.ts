import type { Logger } from 'pino'
import { startBroker } from '../broker/index.js'
import { ensureDemoBootstrap, openRegistry, DEMO_ORG } from '../certs/index.js'
import { loadConfig } from '../config/gateway-config.js'
import { createRootLogger } from './logger.js'
import { welcomeText } from './welcome.js'

/** A running mqgate process: what `close` stops, in reverse order of starting. */
export interface RunningProcess {
  readonly log: Logger
  readonly mqttPort: number
  close (): Promise<void>
}

/**
 * `mqgate start`: every part in one process on embedded defaults (state under
 * ./data, no Redis needed). The first start creates the demo organisation and
 * its identities; clients without SNI land in it.
 */
export async function runStart (env: NodeJS.ProcessEnv, print: (text: string) => void): Promise<RunningProcess> {
  const cfg = loadConfig(env, { defaultOrg: DEMO_ORG })
  const log = createRootLogger(cfg.logLevel)
  const registry = await openRegistry({ dataDir: cfg.dataDir, redisUrl: cfg.redisUrl, domain: cfg.broker.domain, log })
  try {
    const files = await ensureDemoBootstrap(registry, cfg.dataDir, log)
    const broker = await startBroker(cfg.broker, { registry, log })
    print(welcomeText(files, broker.port))
    return { log, mqttPort: broker.port, close: async () => { await broker.close(); await registry.close() } }
  } catch (err) {
    await registry.close()
    throw err
  }
}

/** `mqgate broker`: the MQTT broker alone, for deployments that run the parts separately. */
export async function runBroker (env: NodeJS.ProcessEnv): Promise<RunningProcess> {
  const cfg = loadConfig(env)
  const log = createRootLogger(cfg.logLevel)
  const registry = await openRegistry({ dataDir: cfg.dataDir, redisUrl: cfg.redisUrl, domain: cfg.broker.domain, log })
  try {
    const broker = await startBroker(cfg.broker, { registry, log })
    return { log, mqttPort: broker.port, close: async () => { await broker.close(); await registry.close() } }
  } catch (err) {
    await registry.close()
    throw err
  }
}
