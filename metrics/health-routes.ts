import type { FastifyInstance } from 'fastify'
import type { RoutePlugin } from '../certs/index.js'
import type { GatewayMetrics } from './gateway-metrics.js'

export interface Readiness {
  /** Each check by name: listeners bound, Redis answering (when configured). */
  check (): Promise<Record<string, boolean>>
}

/**
 * On the admin port: `/metrics` (Prometheus text, behind the admin token like
 * every admin route, admins only), `/healthz` (the process answers) and `/readyz` (ready to
 * serve), both open to probes without the token.
 */
export function observabilityRoutes (metrics: GatewayMetrics, readiness: Readiness): RoutePlugin {
  return async (app: FastifyInstance) => {
    // Admins only: the metrics are labelled with every organisation.
    app.get('/metrics', { config: { access: 'admin' } }, async (_request, reply) => {
      return await reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics())
    })
    app.get('/healthz', { config: { access: 'public' } }, async () => ({ status: 'ok' }))
    app.get('/readyz', { config: { access: 'public' } }, async (_request, reply) => {
      const checks = await readiness.check()
      const ready = Object.values(checks).every(Boolean)
      return await reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks })
    })
  }
}
