import type { Logger } from 'pino'
import type { OrgRegistry } from '../certs/index.js'
import type { ClientTls } from './bridge-credentials.js'
import { BridgeCredentials } from './bridge-credentials.js'
import type { BridgeConfig } from './config.js'
import { ForwardStage } from './forward-stage.js'
import { OwnApiForward } from './own-api-forward.js'
import type { ReadingsBackend } from './readings-backend.js'
import { StoreStage } from './store-stage.js'
import { TempsApiClient } from './temps-api-client.js'

export interface BridgeDeps {
  readonly backend: ReadingsBackend
  readonly registry: OrgRegistry
  readonly log: Logger
  /** Files the entry read for the configured paths (MQGATE_BRIDGE_CERT_FILE/KEY_FILE, MQGATE_TEMPS_CA_FILE). */
  readonly files: { readonly clientTls?: ClientTls, readonly tempsCaPem?: string }
  /** The temps API to use when MQGATE_TEMPS_URL is not set: mqgate's own. */
  readonly ownTempsUrl: string
  readonly domain: string
}

export interface RunningBridge {
  close (): Promise<void>
}

/**
 * Starts the two stages that take readings from the log: into the store, and
 * to the temps API. Without MQGATE_TEMPS_URL the temps API is mqgate's own,
 * which serves the very store the store stage writes: readings are then not
 * POSTed to it (OwnApiForward), only to an external API (ForwardStage).
 */
export function startBridge (cfg: BridgeConfig, deps: BridgeDeps): RunningBridge {
  const log = deps.log.child({ component: 'bridge' })
  const { backend } = deps
  const store = new StoreStage({ readings: backend.log, store: backend.store, deadLetters: backend.deadLetters, log }, cfg.name)
  const forward = cfg.tempsUrl === undefined ? ownApiForward(cfg, deps, log) : externalForward(cfg, cfg.tempsUrl, deps, log)
  store.start()
  forward.start()
  log.info({ event: 'bridge.started', consumer: cfg.name, tempsUrl: cfg.tempsUrl ?? deps.ownTempsUrl, forwards: cfg.tempsUrl !== undefined, backend: backend.kind }, 'bridge started')
  return {
    async close () {
      await Promise.all([store.stop(), forward.stop()])
    }
  }
}

interface Stage {
  start (): void
  stop (): Promise<void>
}

function ownApiForward (cfg: BridgeConfig, { backend }: BridgeDeps, log: Logger): Stage {
  return new OwnApiForward({ readings: backend.log, deadLetters: backend.deadLetters, log }, cfg.name)
}

function externalForward (cfg: BridgeConfig, tempsUrl: string, deps: BridgeDeps, log: Logger): Stage {
  const api = new TempsApiClient({
    urlTemplate: tempsUrl,
    servernameTemplate: cfg.tempsServername,
    domain: deps.domain,
    caPem: deps.files.tempsCaPem,
    timeoutMs: cfg.tempsTimeoutMs
  }, new BridgeCredentials(deps.registry, deps.files.clientTls), deps.registry)
  const { backend } = deps
  const forward = new ForwardStage({ readings: backend.log, api, deadLetters: backend.deadLetters, forwarded: backend.forwarded, log }, cfg.name)
  return {
    start: () => forward.start(),
    async stop () {
      await forward.stop()
      api.close()
    }
  }
}
