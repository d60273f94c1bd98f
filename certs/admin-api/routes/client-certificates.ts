import type { FastifyError, FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { CertsError } from '../../errors.js'
import { resolveIssueRequest } from '../../issue-request.js'
import { findIssued, issueClientCert, issuedStateOf, listIssued, restoreCert, revokeCert, type IssuedState } from '../../issuer.js'
import { managedCaOf, type IssuedCertRecord } from '../../records.js'
import { ORG_ROUTE } from '../access.js'
import type { RouteContext, RoutePlugin } from '../admin-server.js'
import { clientCertificateView, failed, succeeded } from '../cloudflare-views.js'
import { adminFailure } from '../errors.js'
import { failureOf } from '../http-errors.js'

/**
 * Cloudflare's API Shield client certificate routes
 * (developers.cloudflare.com/api/resources/client_certificates), with the
 * organisation in the zone's place, so the seed's own requests work as
 * written: POST {csr, validity_days}, list, get, DELETE to revoke, PATCH to
 * restore. Every answer, refusals included, is in Cloudflare's envelope.
 */

type Params = { org: string }
type IdParams = { org: string, id: string }

const STATUS_FILTERS = ['all', 'active', 'revoked', 'expired', 'pending_revocation', 'pending_reactivation']
/** Cloudflare's pagination defaults (per_page 20, at most 50). */
const PER_PAGE = 20
const MAX_PER_PAGE = 50

export function clientCertificateRoutes ({ registry, actorOf }: RouteContext, log: Logger): RoutePlugin {
  const caName = (orgId: string): string => managedCaOf(registry.require(orgId)).subject.replace(/\n/g, ', ')
  const view = (rec: IssuedCertRecord, orgId: string, state?: IssuedState): Record<string, unknown> =>
    clientCertificateView(rec, state ?? issuedStateOf(rec, registry.require(orgId)), caName(orgId))
  /** By the id this API hands out: Cloudflare's clients never send a serial or fingerprint here. */
  const byId = async (orgId: string, id: string): Promise<IssuedCertRecord> => {
    const rec = await findIssued(registry, orgId, id)
    if (rec.id !== id) throw new CertsError('CERTS_ERR_CERT_NOT_FOUND', `no certificate ${id.slice(0, 100)} in organisation ${orgId}`)
    return rec
  }

  const routes = async (app: FastifyInstance): Promise<void> => {
    app.setErrorHandler((err: FastifyError | CertsError, request, reply) => {
      const failure = failureOf(err, request, log)
      void reply.status(failure.status).send(failed(failure))
    })
    // Cloudflare's own examples send `Content-Type: application/json` on GET and
    // DELETE too, with no body: an empty body is no body here, not a JSON error.
    const json = app.getDefaultJsonParser('error', 'error')
    app.removeContentTypeParser('application/json')
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      if (body === '') { done(null, undefined); return }
      json(request, body as string, done)
    })
    app.setNotFoundHandler((request, reply) => {
      const refusal = adminFailure('ADMIN_ERR_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)
      void reply.status(refusal.status).send(failed(refusal))
    })

    app.post<{ Params: Params, Body: { csr: string, validity_days: number } }>('/zones/:org/client_certificates', {
      ...ORG_ROUTE,
      schema: {
        body: {
          type: 'object',
          required: ['csr', 'validity_days'],
          additionalProperties: false,
          // The range 1-3650 is the issuer's rule, refused with its own code (CERTS_ERR_DAYS_INVALID).
          properties: { csr: { type: 'string', minLength: 1, maxLength: 64 * 1024 }, validity_days: { type: 'integer' } }
        }
      }
    }, async request => {
      const { org } = request.params
      const issueRequest = resolveIssueRequest({ csrPem: request.body.csr, days: request.body.validity_days })
      const issued = await issueClientCert(registry, org, issueRequest, actorOf(request))
      return succeeded(view(issued.record, org, 'active'))
    })

    app.get<{ Params: Params, Querystring: { status?: string, page?: string, per_page?: string } }>('/zones/:org/client_certificates', ORG_ROUTE, async request => {
      const { org } = request.params
      const status = request.query.status ?? 'all'
      if (!STATUS_FILTERS.includes(status)) throw badRequest(`status must be one of ${STATUS_FILTERS.join(', ')}`)
      const page = positive(request.query.page, 1, 'page')
      const perPage = Math.min(positive(request.query.per_page, PER_PAGE, 'per_page'), MAX_PER_PAGE)
      const state = registry.require(org)
      const all = (await listIssued(registry, org))
        .map(rec => ({ rec, state: issuedStateOf(rec, state) }))
        .filter(entry => status === 'all' || entry.state === status)
      const slice = all.slice((page - 1) * perPage, page * perPage)
      return succeeded(slice.map(entry => view(entry.rec, org, entry.state)),
        { page, per_page: perPage, count: slice.length, total_count: all.length, total_pages: Math.ceil(all.length / perPage) })
    })

    app.get<{ Params: IdParams }>('/zones/:org/client_certificates/:id', ORG_ROUTE, async request =>
      succeeded(view(await byId(request.params.org, request.params.id), request.params.org)))

    app.delete<{ Params: IdParams }>('/zones/:org/client_certificates/:id', ORG_ROUTE, async request => {
      const { org, id } = request.params
      await byId(org, id)
      // Immediate, on every broker: the certificate is revoked, not pending_revocation.
      return succeeded(view(await revokeCert(registry, org, id, actorOf(request)), org, 'revoked'))
    })

    app.patch<{ Params: IdParams }>('/zones/:org/client_certificates/:id', ORG_ROUTE, async request => {
      const { org, id } = request.params
      await byId(org, id)
      return succeeded(view(await restoreCert(registry, org, id, actorOf(request)), org))
    })
  }
  return async (app: FastifyInstance) => { await app.register(routes, { prefix: '/client/v4' }) }
}

function positive (text: string | undefined, fallback: number, name: string): number {
  if (text === undefined) return fallback
  if (!/^[1-9]\d{0,5}$/.test(text)) throw badRequest(`${name} must be a positive whole number`)
  return Number(text)
}

function badRequest (message: string): Error {
  return Object.assign(new Error(message), { statusCode: 400 })
}
