import { createHash, timingSafeEqual } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import type { OrgRegistry } from '../org-registry.js'
import { TLS_HARDENING } from '../tls-hardening.js'
import { adminFailure } from './errors.js'
import { createErrorHandler, errorBody } from './http-errors.js'
import { caRoutes } from './routes/cas.js'
import { certRoutes } from './routes/certs.js'
import { clientCertificateRoutes } from './routes/client-certificates.js'
import { failed } from './cloudflare-views.js'
import { gatewayRoutes } from './routes/gateways.js'
import { orgLimitRoutes } from './routes/org-limits.js'
import { orgRoutes } from './routes/orgs.js'
import { serverCertRoutes } from './routes/server-certs.js'

export interface AdminApiConfig {
  readonly port: number
  readonly host?: string
  readonly token: string
  readonly tls: { readonly keyPem: string, readonly certPem: string }
}

export interface AdminApiDeps {
  readonly registry: OrgRegistry
  readonly log: Logger
  /** Routes other parts add behind the same token (the bridge's dead letters, metrics). */
  readonly extraRoutes?: readonly RoutePlugin[]
  /** Paths answered without the token (health probes). */
  readonly publicPaths?: readonly string[]
}

export interface RunningAdminApi {
  readonly port: number
  close (): Promise<void>
}

/** Uploads are certificates, CRLs and CSRs: a megabyte is generous. */
const BODY_LIMIT = 1024 * 1024
const OPERATOR_HEADER = 'x-mqgate-operator'

/** The operator API over HTTPS, one route per CLI verb, behind a bearer token. */
export async function startAdminApi (cfg: AdminApiConfig, deps: AdminApiDeps): Promise<RunningAdminApi> {
  const log = deps.log.child({ component: 'admin-api' })
  const app = Fastify({
    https: { key: cfg.tls.keyPem, cert: cfg.tls.certPem, minVersion: 'TLSv1.2', ...TLS_HARDENING },
    bodyLimit: BODY_LIMIT,
    logger: false,
    // Refuse what does not fit the schema rather than silently dropping or coercing it.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } }
  })
  app.setErrorHandler(createErrorHandler(log))
  app.setNotFoundHandler((request, reply) => {
    const refusal = adminFailure('ADMIN_ERR_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)
    void reply.status(refusal.status).send(errorBody(refusal.code, refusal.message))
  })
  const publicPaths = new Set(deps.publicPaths ?? [])
  app.addHook('onRequest', async (request, reply) => {
    if (publicPaths.has(request.url.split('?')[0])) return
    if (!bearerMatches(request.headers.authorization, cfg.token)) {
      const refusal = adminFailure('ADMIN_ERR_UNAUTHORIZED', 'a valid bearer token is required')
      log.warn({ event: 'admin.unauthorized', code: refusal.code, method: request.method, url: request.url, remoteAddress: request.ip }, 'missing or wrong admin token')
      // Cloudflare's clients read every answer of /client/v4 in its envelope, refusals included.
      const body = request.url.startsWith('/client/v4/') ? failed(refusal) : errorBody(refusal.code, refusal.message)
      return await reply.status(refusal.status).header('www-authenticate', 'Bearer').send(body)
    }
  })
  const context = { registry: deps.registry, actorOf }
  await app.register(orgRoutes(context))
  await app.register(orgLimitRoutes(context))
  await app.register(caRoutes(context))
  await app.register(serverCertRoutes(context))
  await app.register(certRoutes(context))
  await app.register(gatewayRoutes(context))
  await app.register(clientCertificateRoutes(context, log))
  for (const routes of deps.extraRoutes ?? []) await app.register(routes)
  await app.listen({ port: cfg.port, host: cfg.host ?? '::' })
  const port = (app.server.address() as AddressInfo).port
  log.info({ event: 'admin.listening', port }, 'admin API listening')
  return { port, close: async () => await app.close() }
}

export interface RouteContext {
  readonly registry: OrgRegistry
  readonly actorOf: (request: FastifyRequest) => string
}

export type RoutePlugin = (app: FastifyInstance) => Promise<void>

/** The audit "who": the operator name the CLI sends (informational), at the caller's address. */
function actorOf (request: FastifyRequest): string {
  const raw = request.headers[OPERATOR_HEADER]
  const name = typeof raw === 'string' && /^[A-Za-z0-9._@-]{1,64}$/.test(raw) ? raw : 'admin'
  return `${name}@${request.ip}`
}

function bearerMatches (header: string | undefined, token: string): boolean {
  const presented = /^Bearer (.+)$/.exec(header ?? '')?.[1] ?? ''
  // Compare digests: equal length, constant time, whatever was presented.
  return timingSafeEqual(digest(presented), digest(token)) && presented !== ''
}

function digest (value: string): Buffer {
  return createHash('sha256').update(value).digest()
}
