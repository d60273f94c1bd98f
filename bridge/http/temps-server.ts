import type { AddressInfo } from 'node:net'
import type tls from 'node:tls'
import Fastify, { type FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import { DEFAULT_TRUST_POLICY, OrgContexts } from '../../broker/index.js'
import { TLS_HARDENING, type OrgRegistry } from '../../certs/index.js'
import { BridgeError } from '../errors.js'
import { MAX_READING_BYTES } from '../reading.js'
import type { ReadingStore } from '../reading-store.js'
import { CallerResolver, type Caller } from './caller.js'
import { crlRoute, isPublicPath } from './crl-route.js'
import { createErrorHandler, errorBody } from './http-errors.js'
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
}

export interface RunningTempsApi {
  readonly port: number
  close (): Promise<void>
}

/**
 * The seed-compatible temps API over HTTPS with client certificates. As for
 * MQTT, the SNI name picks the organisation (its server certificate and the
 * CAs that verify callers), and the caller is its certificate's identity.
 */
export async function startTempsApi (cfg: TempsApiServerConfig, deps: TempsApiServerDeps): Promise<RunningTempsApi> {
  const log = deps.log.child({ component: 'temps-api' })
  const contexts = new OrgContexts(deps.registry, { domain: cfg.domain, defaultOrg: cfg.defaultOrg, minVersion: cfg.minTlsVersion })
  const app = Fastify({
    https: {
      ...contexts.defaultContextOptions(),
      ...TLS_HARDENING,
      minVersion: cfg.minTlsVersion,
      requestCert: true,
      // Each request decides (CallerResolver), so a refusal is a JSON 403 rather than a dropped connection.
      rejectUnauthorized: false,
      SNICallback: function (this: tls.TLSSocket | undefined, servername: string, done: (err: Error | null, ctx?: tls.SecureContext) => void) { contexts.sniCallback(this, servername, done) }
    },
    bodyLimit: MAX_READING_BYTES,
    logger: false
  })
  const onChange = (orgId: string): void => contexts.rebuild(orgId)
  deps.registry.on('changed', onChange)
  const resolver = new CallerResolver(deps.registry, contexts, { maxChainDepth: cfg.maxChainDepth ?? DEFAULT_TRUST_POLICY.maxChainDepth })
  const callerOf = (request: FastifyRequest): Caller => {
    const caller = resolver.resolve(request)
    if (caller === undefined) throw new BridgeError('BRIDGE_ERR_API_NOT_FOUND', 'no organisation for this host')
    return caller
  }
  // Readings are decoded by parseReading alone, whatever the content type a curl user forgot to set.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body))
  app.setErrorHandler(createErrorHandler(log))
  app.setNotFoundHandler((request, reply) => { void reply.status(404).send(errorBody('BRIDGE_ERR_API_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)) })
  app.addHook('onRequest', async (request, reply) => {
    if (isPublicPath(request.url) || !isProtected(cfg.protectedHosts, hostOf(request))) return
    const caller = resolver.resolve(request)
    if (caller?.identity === undefined) {
      log.warn({ event: 'api.refused', code: 'BRIDGE_ERR_API_CLIENT_CERT_REQUIRED', host: hostOf(request), reason: caller?.code, fingerprint: caller?.fingerprint, url: request.url.split('?')[0] }, 'request without a verified client certificate')
      return await reply.status(403).send(errorBody('BRIDGE_ERR_API_CLIENT_CERT_REQUIRED', 'this host requires a verified client certificate'))
    }
  })
  await app.register(tempsRoutes({ store: deps.store, callerOf }))
  await app.register(crlRoute(deps.registry))
  await app.listen({ port: cfg.port, host: cfg.host ?? '::' })
  const port = (app.server.address() as AddressInfo).port
  log.info({ event: 'temps-api.listening', port }, 'temps API listening')
  return {
    port,
    async close () {
      deps.registry.off('changed', onChange)
      await app.close()
    }
  }
}

/** The name the client asked for: SNI, else the Host header without its port. */
function hostOf (request: FastifyRequest): string {
  const servername = (request.raw.socket as tls.TLSSocket).servername
  return (typeof servername === 'string' && servername !== '' ? servername : request.hostname.replace(/:\d+$/, '')).toLowerCase()
}

function isProtected (hosts: '*' | readonly string[], host: string): boolean {
  return hosts === '*' || hosts.includes(host)
}
