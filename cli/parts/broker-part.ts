import { startBroker } from '../../broker/index.js'
import { readingSinkFor } from '../../bridge/index.js'
import { CrlFetcher, DEFAULT_CRL_FETCH_LIMITS } from '../../certs/index.js'
import { fetchAllowOf, type Part, type PartContext } from './context.js'

/** The MQTT broker (TLS, secure WebSocket) and, beside it, the CRL fetcher. */
export function brokerPart (queueReadings: boolean): Part {
  return async (ctx) => {
    const { cfg, log, registry, backend, metrics, front, ports, onClose } = ctx
    const readings = queueReadings ? readingSinkFor(backend.log, cfg.bridge) : undefined
    const broker = await startBroker(cfg.broker, { registry, log, readings, observer: metrics, front: front() })
    metrics.addSources({ connectionsByOrg: () => broker.connectionsByOrg() })
    ctx.mqtt = broker.transport
    ctx.liveSessions = broker.sessions
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
