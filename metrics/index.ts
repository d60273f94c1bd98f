/** Observability: Prometheus metrics and health probes. */
export { GatewayMetrics, type MetricSources } from './gateway-metrics.js'
export { observabilityRoutes, type Readiness } from './health-routes.js'
