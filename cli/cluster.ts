import cluster, { type Worker } from 'node:cluster'
import type { Logger } from 'pino'
import { serverNameOf } from '../access/index.js'
import { ensureAdminCredentials, ensureDemoBootstrap, openRegistry, DEMO_ORG, type BootstrapFiles, type KeyRing } from '../certs/index.js'
import { loadConfig, type GatewayConfig } from '../config/gateway-config.js'
import { resolveKeys } from '../config/kek-config.js'
import { createProcessLogger } from './logger.js'
import { logFormatOf, runStart, runWorkerParts, type ProcessOptions, type RunningProcess, type WorkerReport } from './processes.js'
import { welcomeText } from './welcome.js'

/**
 * A dead worker is replaced after 100 ms, doubling for each further death in a
 * row up to 10 s (a worker that cannot start must not fork-bomb the host); a
 * worker that lived STABLE_AFTER_MS starts the count again.
 */
const RESPAWN_MIN_MS = 100
const RESPAWN_MAX_MS = 10_000
const STABLE_AFTER_MS = 30_000

export function respawnDelay (deathsInARow: number): number {
  return Math.min(RESPAWN_MAX_MS, RESPAWN_MIN_MS * 2 ** Math.max(0, deathsInARow - 1))
}

/**
 * `mqgate start --workers N`: N processes serving the same ports (Node's
 * cluster module), each a broker, admin API, temps API and bridge, sharing
 * sessions, routing, readings and the registry through Redis. Without Redis
 * the processes would share nothing, so it runs one.
 */
export async function runStartWorkers (env: NodeJS.ProcessEnv, options: ProcessOptions, workers: number, print: (text: string) => void): Promise<RunningProcess> {
  if (cluster.isWorker) return await runWorkerParts(env, options, Number(env.MQGATE_WORKER ?? '1'))
  const cfg = loadConfig(env, { defaultOrg: DEMO_ORG })
  if (workers <= 1 || cfg.redisUrl === undefined) {
    const running = await runStart(env, options, print)
    if (workers > 1) running.log.info({ event: 'cluster.single', requested: workers }, 'without REDIS_URL the processes would share nothing: running one')
    return running
  }
  const format = logFormatOf(cfg, options)
  const log = options.logger ?? createProcessLogger(cfg.logLevel, format)
  const { keys } = await resolveKeys(cfg)
  const files = await prepareOnce(cfg, options.adminToken, log, keys)
  // The workers write to the primary's stdout (cluster's default stdio) and
  // parse the same argv; handing them the format decided here keeps their
  // lines in it whatever they would guess themselves.
  return await superviseWorkers(workers, log, { MQGATE_LOG_FORMAT: format }, ports => print(welcomeText({ files, ports, dataDir: cfg.dataDir, adminTokenFromEnv: options.adminToken !== undefined })))
}

/** What must happen once, not once per worker: the demo organisation and the admin credentials. */
async function prepareOnce (cfg: Readonly<GatewayConfig>, adminToken: string | undefined, log: Logger, keys: KeyRing): Promise<BootstrapFiles> {
  const dataDir = cfg.dataDir
  // The demo organisation's certificates name the same CRL and OCSP responder as what the workers issue.
  const registry = await openRegistry({
    dataDir, redisUrl: cfg.redisUrl, serverNameFor: orgId => serverNameOf(orgId, cfg.broker.domain), log, crlUrlTemplate: cfg.crlUrlTemplate, ocspUrlTemplate: cfg.ocspUrlTemplate, keys, pkcs11: cfg.pkcs11
  })
  try {
    const files = await ensureDemoBootstrap(registry, dataDir, log)
    await ensureAdminCredentials(dataDir, adminToken, log, keys)
    return files
  } finally {
    await registry.close()
  }
}

function superviseWorkers (count: number, log: Logger, workerEnv: Readonly<Record<string, string>>, onFirstListening: (ports: RunningProcess['ports']) => void): RunningProcess {
  let stopping = false
  let welcomed = false
  let ports: RunningProcess['ports'] = {}
  const deathsInARow = new Map<number, number>()
  const timers = new Set<NodeJS.Timeout>()
  const fork = (index: number): Worker => {
    const startedAt = Date.now()
    const worker = cluster.fork({ ...workerEnv, MQGATE_WORKER: String(index) })
    worker.on('message', (message: WorkerReport) => {
      if (message?.mqgate !== 'listening') return
      ports = message.ports
      if (!welcomed) {
        welcomed = true
        onFirstListening(message.ports)
      }
    })
    worker.on('exit', (code, signal) => {
      if (stopping) return
      const deaths = Date.now() - startedAt >= STABLE_AFTER_MS ? 1 : (deathsInARow.get(index) ?? 0) + 1
      deathsInARow.set(index, deaths)
      const delayMs = respawnDelay(deaths)
      log.error({ event: 'cluster.worker-died', code: 'CLUSTER_WORKER_RESPAWN', worker: index, exitCode: code, signal, deathsInARow: deaths, respawnInMs: delayMs }, 'a worker died; starting another')
      // Not unref()ed: when every worker died at once this timer is all that
      // keeps the primary alive, and an unref()ed one let it exit (status 13,
      // the port closed for good; issue 18).
      const timer = setTimeout(() => {
        timers.delete(timer)
        if (!stopping) fork(index)
      }, delayMs)
      timers.add(timer)
    })
    return worker
  }
  for (let index = 1; index <= count; index++) fork(index)
  log.info({ event: 'cluster.started', workers: count }, 'workers started')
  return {
    log,
    get ports () { return ports },
    get registry (): never { throw new Error('the primary holds no registry') },
    get backend (): never { throw new Error('the primary holds no readings backend') },
    async close () {
      stopping = true
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      const exits = Object.values(cluster.workers ?? {}).map(async worker => await new Promise<void>(resolve => {
        if (worker === undefined || worker.isDead()) return resolve()
        worker.once('exit', () => resolve())
        worker.process.kill('SIGTERM')
      }))
      await Promise.all(exits)
    }
  }
}
