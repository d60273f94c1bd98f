import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import type { OrgRegistry } from '../org-registry.js'
import { TLS_HARDENING } from '../tls-hardening.js'
import { fetchRefusalOf, isRouteAccess, refusalOf, type RouteAccess } from './access.js'
import { Authentication, bearerOf } from './authentication.js'
import { CONSOLE_CALL_HEADER, ConsoleCalls } from './console/api-calls.js'
import { consolePlugin } from './console/console-plugin.js'
import { openSessionStore, type ConsoleSessionStore } from './console/session-store.js'
import { AdminError, adminFailure, type AdminErrorCode } from './errors.js'
import { createFrameworkErrorHandler, isCloudflareUrl, isConsoleUrl } from './framework-errors.js'
import { createErrorHandler, errorBody, pathOf } from './http-errors.js'
import { caRoutes } from './routes/cas.js'
import { certRoutes } from './routes/certs.js'
import { clientCertificateRoutes } from './routes/client-certificates.js'
import { failed } from './cloudflare-views.js'
import { enrollmentRoutes } from './routes/enrollment.js'
import { gatewayRoutes } from './routes/gateways.js'
import { orgLimitRoutes } from './routes/org-limits.js'
import { orgRenewalRoutes } from './routes/org-renewal.js'
import { operatorRoutes } from './routes/operators.js'
import { operatorSelfRoutes } from './routes/operator-self.js'
import { orgRoutes } from './routes/orgs.js'
import type { Principal } from './operators/operator.js'
import { OperatorAdmin } from './operators/operator-admin.js'
import type { OperatorStore } from './operators/operator-store.js'
import { serverCertRoutes } from './routes/server-certs.js'
import { sessionRoutes } from './routes/sessions.js'
import { auditRoutes } from './routes/audit.js'
import type { LiveSessionDirectory } from './live-sessions.js'

export interface AdminApiConfig {
  readonly port: number
  readonly host?: string
  readonly token: string
  readonly tls: { readonly keyPem: string, readonly certPem: string }
  /** The web console (/console): how long a session may idle (MQGATE_CONSOLE_IDLE_MINUTES); 30 minutes when absent. */
  readonly console?: { readonly idleMs: number }
  /**
   * MQGATE_CRL_FETCH_ALLOW is set: it bounds what the gateway fetches for an
   * organisation (CRL sources, OCSP responders), so an org-admin may ask for
   * such fetches; absent or false, only an admin may (access.ts, fetchRefusalOf).
   */
  readonly fetchAllowListSet?: boolean
}

export interface AdminApiDeps {
  readonly registry: OrgRegistry
  readonly log: Logger
  /** The operators and their roles (operators/); the bootstrap token is an admin besides them. */
  readonly operators: OperatorStore
  /**
   * Routes other parts add (the bridge's dead letters, metrics, probes). Like
   * every route, each declares its access (`config: { access }`, access.ts).
   */
  readonly extraRoutes?: readonly RoutePlugin[]
  /** The console's sessions (console/session-store.ts); in this process's memory when absent. */
  readonly sessions?: ConsoleSessionStore
  /** The broker's live MQTT sessions (`GET /orgs/:org/sessions`); absent in a process without a broker (503 ADMIN_ERR_SESSIONS_UNAVAILABLE). */
  readonly liveSessions?: LiveSessionDirectory
}

export interface RunningAdminApi {
  readonly port: number
  /** Every route answered, with its declared access ('GET /orgs/:org': 'org'). */
  readonly routes: ReadonlyArray<{ readonly method: string, readonly url: string, readonly access: RouteAccess }>
  close (): Promise<void>
}

/** Uploads are certificates, CRLs and CSRs: a megabyte is generous. */
const BODY_LIMIT = 1024 * 1024
const OPERATOR_HEADER = 'x-mqgate-operator'
const CONSOLE_IDLE_DEFAULT_MS = 30 * 60_000

/** The operator API over HTTPS, one route per CLI verb, behind a bearer token. */
export async function startAdminApi (cfg: AdminApiConfig, deps: AdminApiDeps): Promise<RunningAdminApi> {
  const log = deps.log.child({ component: 'admin-api' })
  const app = Fastify({
    https: { key: cfg.tls.keyPem, cert: cfg.tls.certPem, minVersion: 'TLSv1.2', ...TLS_HARDENING },
    bodyLimit: BODY_LIMIT,
    logger: false,
    // Refuse what does not fit the schema rather than silently dropping or coercing it.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
    // A URL the router refuses (`/orgs/%`) is answered like every other refusal, not in fastify's own body.
    frameworkErrors: createFrameworkErrorHandler(log)
  })
  app.setErrorHandler(createErrorHandler(log))
  app.setNotFoundHandler((request, reply) => {
    const refusal = adminFailure('ADMIN_ERR_NOT_FOUND', `no route ${request.method} ${pathOf(request)}`)
    void reply.status(refusal.status).send(errorBody(refusal.code, refusal.message))
  })
  const principals = new WeakMap<FastifyRequest, Principal>()
  const operators = new OperatorAdmin(deps.operators, deps.registry, log)
  const authentication = new Authentication(cfg.token, operators)
  const consoleCalls = new ConsoleCalls()
  const routes = declaredRoutes(app)
  app.addHook('onRequest', async (request, reply) => {
    // Operator data, and the one answer that carries a generated key (cert issue, claim create):
    // no cache on the way may keep any of it (RFC 9111 5.2.2.5).
    void reply.header('cache-control', 'no-store')
    const access = (request.routeOptions.config as { access?: RouteAccess }).access
    // The console's pages check their own session (console/console-plugin.ts) and act through the routes below.
    if ((access === 'public' || access === 'console') && !request.is404) return
    // A console URL that names no page: the console's own not-found page (after its session check).
    if (request.is404 && isConsoleUrl(request.url)) return
    const who = consoleCalls.principalOf(request.headers[CONSOLE_CALL_HEADER]) ?? await authentication.principalOf(bearerOf(request.headers.authorization))
    if (who === undefined) {
      const refusal = adminFailure('ADMIN_ERR_UNAUTHORIZED', 'a valid bearer token is required')
      // The path only: a token sent in the query string (`/orgs?token=`) is not a log line's.
      log.warn({ event: 'admin.unauthorized', code: refusal.code, method: request.method, url: pathOf(request), remoteAddress: request.ip }, 'missing or wrong admin token')
      // Cloudflare's clients read every answer of /client/v4 in its envelope, refusals included.
      const body = isCloudflareUrl(request.url) ? failed(refusal) : errorBody(refusal.code, refusal.message)
      return await reply.status(refusal.status).header('www-authenticate', 'Bearer').send(body)
    }
    principals.set(request, who)
    // Here, before the body is read or validated: a refused caller learns nothing of the route's schema.
    if (!request.is404) authorize(request, who, access as RouteAccess, log)
  })
  const principalOf = (request: FastifyRequest): Principal => principals.get(request) as Principal
  const refuseUnboundedFetch = (request: FastifyRequest): void => refuseFetch(request, principalOf(request), cfg.fetchAllowListSet === true, log)
  const context = { registry: deps.registry, actorOf: (request: FastifyRequest) => actorOf(request, principalOf(request)), principalOf, refuseUnboundedFetch }
  await app.register(orgRoutes(context))
  await app.register(orgLimitRoutes(context))
  await app.register(orgRenewalRoutes(context))
  await app.register(caRoutes(context))
  await app.register(serverCertRoutes(context))
  await app.register(certRoutes(context))
  await app.register(gatewayRoutes(context))
  await app.register(enrollmentRoutes(context))
  await app.register(operatorRoutes(context, operators))
  await app.register(operatorSelfRoutes(context, operators))
  await app.register(clientCertificateRoutes(context, log))
  await app.register(sessionRoutes(context, deps.liveSessions))
  await app.register(auditRoutes(context))
  for (const extra of deps.extraRoutes ?? []) await app.register(extra)
  const idleMs = cfg.console?.idleMs ?? CONSOLE_IDLE_DEFAULT_MS
  const sessions = deps.sessions ?? openSessionStore({ idleMs })
  if (deps.sessions === undefined) app.addHook('onClose', async () => await sessions.close())
  await app.register(consolePlugin({ api: app, calls: consoleCalls, authentication, sessions, idleMs, log }), { prefix: '/console' })
  await app.listen({ port: cfg.port, host: cfg.host ?? '::' })
  const port = (app.server.address() as AddressInfo).port
  log.info({ event: 'admin.listening', port, routes: routes.map(r => `${r.method} ${r.url} ${r.access}`) }, 'admin API listening')
  return { port, routes, close: async () => await app.close() }
}

export interface RouteContext {
  readonly registry: OrgRegistry
  readonly actorOf: (request: FastifyRequest) => string
  /** Who is asking (authenticated before any handler runs). */
  readonly principalOf: (request: FastifyRequest) => Principal
  /** Throws 403 ADMIN_ERR_FETCH_NEEDS_ALLOW_LIST when the caller may not make the gateway fetch an organisation's URLs (fetchRefusalOf). */
  readonly refuseUnboundedFetch: (request: FastifyRequest) => void
}

export type RoutePlugin = (app: FastifyInstance) => Promise<void>

/**
 * Deny by default: a route that does not declare its access (access.ts) stops
 * the start. Collects what is registered, for the listening line and tests.
 */
function declaredRoutes (app: FastifyInstance): Array<{ method: string, url: string, access: RouteAccess }> {
  const routes: Array<{ method: string, url: string, access: RouteAccess }> = []
  app.addHook('onRoute', route => {
    const access = (route.config as { access?: unknown } | undefined)?.access
    for (const method of [route.method].flat()) {
      if (!isRouteAccess(access)) throw new Error(`admin API route ${method} ${route.url} declares no access (config.access: org, org-list, self, admin, public or console)`)
      routes.push({ method, url: route.url, access })
    }
  })
  return routes
}

/** The one authorization decision of every route (refusalOf), logged and thrown as a 403 when refused. */
function authorize (request: FastifyRequest, who: Principal, access: RouteAccess, log: Logger): void {
  const orgId = (request.params as { org?: unknown } | undefined)?.org
  const code = refusalOf(who, { access, method: request.method, orgId: typeof orgId === 'string' ? orgId : undefined })
  if (code === undefined) return
  forbid(request, who, code, code === 'ADMIN_ERR_FORBIDDEN_ORG' ? `operator ${who.name} has no access to organisation ${String(orgId ?? '(none)').slice(0, 63)}` : `the ${who.role} role may not ${request.method} ${request.routeOptions.url ?? ''}`, log)
}

/** fetchRefusalOf's refusal, logged and thrown as a 403 like authorize's. */
function refuseFetch (request: FastifyRequest, who: Principal, allowListSet: boolean, log: Logger): void {
  const code = fetchRefusalOf(who, allowListSet)
  if (code === undefined) return
  forbid(request, who, code, 'the gateway\'s operator must set MQGATE_CRL_FETCH_ALLOW (the hosts and addresses the CRL fetcher and the OCSP check may reach) ' +
    'before an org-admin may set a CRL source or turn the OCSP check on: without it the gateway would fetch from any address it can reach. Until then an admin may', log)
}

/** One admin.forbidden line, then the refusal: what the operator may not do, whichever check decided it. */
function forbid (request: FastifyRequest, who: Principal, code: AdminErrorCode, message: string, log: Logger): never {
  log.warn({ event: 'admin.forbidden', code, operator: who.name, role: who.role, method: request.method, url: pathOf(request), remoteAddress: request.ip }, 'operator not allowed')
  throw new AdminError(code, message)
}

/**
 * The audit "who": an operator by its name (`operator:<name>`); the bootstrap
 * token by the operator name the CLI sends (informational), as before; both
 * at the caller's address.
 */
function actorOf (request: FastifyRequest, who: Principal | undefined): string {
  if (who !== undefined && !who.bootstrap) return `operator:${who.name}@${request.ip}`
  const raw = request.headers[OPERATOR_HEADER]
  const name = typeof raw === 'string' && /^[A-Za-z0-9._@-]{1,64}$/.test(raw) ? raw : 'admin'
  return `${name}@${request.ip}`
}
