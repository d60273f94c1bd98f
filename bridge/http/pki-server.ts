import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import type { Logger } from 'pino'
import type { OcspResponder, OrgRegistry } from '../../certs/index.js'
import { crlRoute } from './crl-route.js'
import { createErrorHandler, createRouterErrorHandler, errorBody } from './http-errors.js'
import { ocspRoute } from './ocsp-route.js'

/** Requests are a few hundred octets (RFC 6960 4.1.1): a bound well above any real one. */
const MAX_REQUEST_BYTES = 16 * 1024
/** A public port: a connection idle this long (a client that sends half a request and waits) is closed. */
const IDLE_TIMEOUT_MS = 10_000

export interface PkiHttpConfig {
  /** MQGATE_PKI_HTTP_PORT: plain HTTP, 8080 by default (0 in the configuration is off: no server is started). */
  readonly port: number
  readonly host?: string
}

export interface RunningPkiHttp {
  readonly port: number
  close (): Promise<void>
}

/**
 * The managed CAs' CRLs (`/crl/<org>.crl`) and OCSP responders
 * (`/ocsp/<org>`) over plain HTTP, where relying parties expect them
 * (RFC 5280 4.2.1.13 and 4.2.2.1 name HTTP): both are signed, and a revocation
 * source behind HTTPS would need a revocation check of its own to be reached.
 * Public: no client certificate, no host check. The HTTPS routes of the temps
 * API stay.
 */
export async function startPkiHttp (cfg: PkiHttpConfig, deps: { registry: OrgRegistry, responder: OcspResponder, log: Logger }): Promise<RunningPkiHttp> {
  const log = deps.log.child({ component: 'pki-http' })
  const app = Fastify({ bodyLimit: MAX_REQUEST_BYTES, connectionTimeout: IDLE_TIMEOUT_MS, logger: false, frameworkErrors: createRouterErrorHandler(log) })
  // RFC 6960 A.1 names application/ocsp-request; the body is decoded as DER whatever a client says it is.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body))
  app.setErrorHandler(createErrorHandler(log))
  app.setNotFoundHandler((request, reply) => { void reply.status(404).send(errorBody('BRIDGE_ERR_API_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)) })
  await app.register(crlRoute(deps.registry))
  await app.register(ocspRoute(deps.registry, deps.responder))
  await app.listen({ port: cfg.port, host: cfg.host ?? '::' })
  const port = (app.server.address() as AddressInfo).port
  log.info({ event: 'pki-http.listening', port }, 'CRLs and OCSP responders over HTTP')
  return { port, close: async () => await app.close() }
}
