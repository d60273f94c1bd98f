import https from 'node:https'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type tls from 'node:tls'
import Fastify, { type FastifyInstance, type FastifyServerFactory } from 'fastify'
import type { Logger } from 'pino'
import { DEFAULT_TRUST_POLICY, TlsFront } from '../../access/index.js'
import { FirstUseRecorder, type OrgRegistry } from '../../certs/index.js'
import { MAX_READING_BYTES } from '../reading.js'
import type { ReadingStore } from '../reading-store.js'
import { accessErrorOf, callerOf, hostOf, resolveCaller } from './caller.js'
import { crlRoute, isPublicPath } from './crl-route.js'
import { estRoutes, isEstPath } from './est-routes.js'
import { estReenrollRoute } from './est-reenroll-route.js'
import { firstUseHook } from './first-use-hook.js'
import { createErrorHandler, createRouterErrorHandler, errorBody } from './http-errors.js'
import { tempsRoutes } from './temps-routes.js'

export interface TempsApiServerConfig {
  /** MQGATE_API_PORT: HTTPS, 8443 by default; 0 picks a free one. */
  readonly port: number
  readonly host?: string
  readonly domain: string
  readonly defaultOrg?: string
  /** MQGATE_PROTECTED_HOSTS: hosts where a request without a verified client certificate gets 403 (`*`: all). */
  readonly protectedHosts: '*' | readonly string[]
  readonly minTlsVersion: tls.SecureVersion
  /** MQGATE_MAX_CHAIN_DEPTH, as for MQTT (BrokerConfig.maxChainDepth). */
  readonly maxChainDepth?: number
}

export interface TempsApiServerDeps {
  readonly registry: OrgRegistry
  readonly store: ReadingStore
  readonly log: Logger
  /** The TLS front shared with the process's other device-facing listeners; one is made when absent. */
  readonly front?: TlsFront
  /** Notices renewed certificates' first use (shared with the broker of the process); one is made when absent. */
  readonly firstUse?: FirstUseRecorder
}

export interface RunningTempsApi {
  readonly port: number
  close (): Promise<void>
}

/**
 * The seed-compatible temps API over HTTPS with client certificates. As for
 * MQTT, the TLS front's SNI name picks the organisation (its server
 * certificate and the CAs that verify callers), and the identity path names
 * the caller at each request.
 */
export async function startTempsApi (cfg: TempsApiServerConfig, deps: TempsApiServerDeps): Promise<RunningTempsApi> {
  const front = deps.front ?? new TlsFront(deps.registry, { domain: cfg.domain, defaultOrg: cfg.defaultOrg, minVersion: cfg.minTlsVersion, trust: { maxChainDepth: cfg.maxChainDepth ?? DEFAULT_TRUST_POLICY.maxChainDepth }, ocsp: { log: deps.log.child({ component: 'ocsp' }) } })
  const serverFactory: FastifyServerFactory = handler => {
    const server = https.createServer(front.serverOptions(), handler)
    front.attach(server)
    return server as unknown as Server
  }
  const app = await createTempsApp(cfg, { ...deps, front }, serverFactory)
  await app.listen({ port: cfg.port, host: cfg.host ?? '::' })
  const port = (app.server.address() as AddressInfo).port
  deps.log.child({ component: 'temps-api' }).info({ event: 'temps-api.listening', port }, 'temps API listening')
  return {
    port,
    async close () {
      await app.close()
      if (deps.front === undefined) front.close()
    }
  }
}

/**
 * The temps API's routes and request checks on a server `serverFactory`
 * makes: its own HTTPS listener, or the shared port's plain HTTP server fed
 * with TLS sockets already admitted by the front.
 */
export async function createTempsApp (cfg: TempsApiServerConfig, deps: TempsApiServerDeps & { readonly front: TlsFront }, serverFactory: FastifyServerFactory): Promise<FastifyInstance> {
  const log = deps.log.child({ component: 'temps-api' })
  const resolver = deps.front.resolver
  const app = Fastify({ serverFactory, bodyLimit: MAX_READING_BYTES, logger: false, frameworkErrors: createRouterErrorHandler(log) })
  // Readings are decoded by parseReading alone, whatever the content type a curl user forgot to set.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body))
  app.setErrorHandler(createErrorHandler(log))
  app.setNotFoundHandler((request, reply) => { void reply.status(404).send(errorBody('BRIDGE_ERR_API_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)) })
  app.addHook('onRequest', async request => {
    // Enrollment decides for itself (est-routes.ts): a token caller has no client certificate, a
    // claim certificate is no identity. simplereenroll's caller is an identity, checked as here.
    if (isPublicPath(request.url) || (isEstPath(request.url) && !request.url.startsWith('/.well-known/est/simplereenroll'))) return
    // Resolved here for every route (the OCSP check is asynchronous); the routes read the answer.
    const caller = await resolveCaller(resolver, request)
    // A protected host answers nothing, not even a 404, to a caller the identity path refuses.
    if (!caller.ok && isProtected(cfg.protectedHosts, hostOf(request))) throw accessErrorOf(caller)
  })
  await app.register(tempsRoutes({ store: deps.store, callerOf }))
  app.addHook('onResponse', firstUseHook(deps.firstUse ?? new FirstUseRecorder(deps.registry, log)))
  await app.register(crlRoute(deps.registry))
  await app.register(estRoutes({ registry: deps.registry, resolver, contexts: deps.front.contexts, log: deps.log }))
  await app.register(estReenrollRoute({ registry: deps.registry, callerOf, log }))
  return app
}

function isProtected (hosts: '*' | readonly string[], host: string): boolean {
  return hosts === '*' || hosts.includes(host)
}
