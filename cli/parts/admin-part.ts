import { crlDeadlinesOf, ensureAdminCredentials, expiriesOf, logInvalidRecords, openConsoleSessionStore, openOperatorStore, startAdminApi } from '../../certs/index.js'
import { readingAdminRoutes } from '../../bridge/index.js'
import { observabilityRoutes } from '../../metrics/index.js'
import type { Part, ProcessOptions } from './context.js'

/** The admin API, with the readings' admin routes, the metrics and the probes. */
export function adminPart (options: ProcessOptions): Part {
  return async ({ cfg, log, registry, backend, keys, metrics, ports, started, onClose, liveSessions }) => {
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
    // On the registry's backend: operators revoked through one process are refused by all at once.
    const operators = openOperatorStore({ dataDir: cfg.dataDir, redisUrl: cfg.redisUrl, onInvalid: logInvalidRecords(log) })
    onClose(async () => await operators.close())
    // Beside the operators: with Redis, every worker of `start --workers` knows every console session.
    const sessions = openConsoleSessionStore({ redisUrl: cfg.redisUrl, idleMs: cfg.admin.console.idleMs })
    onClose(async () => await sessions.close())
    const admin = await startAdminApi({ ...cfg.admin, token: credentials.token, tls: credentials, fetchAllowListSet: cfg.crlFetchAllow !== undefined }, {
      registry,
      log,
      operators,
      sessions,
      liveSessions,
      extraRoutes: [readingAdminRoutes(backend.deadLetters), observabilityRoutes(metrics, readiness)]
    })
    ports.admin = admin.port
    onClose(async () => await admin.close())
  }
}
