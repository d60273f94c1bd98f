import type { FastifyInstance } from 'fastify'
import { addCa, findCa, loadCrl, removeCa, setCaEnabled } from '../../ca-admin.js'
import { previewCa } from '../../ca-preview.js'
import { setCrlPolicy } from '../../crl-policy.js'
import { clearCrlSource, CRL_SOURCE_EVERY, setCrlSource } from '../../crl-fetch/crl-source.js'
import { setOcspCheck } from '../../ocsp-setting.js'
import { CRL_POLICIES, type CrlPolicy } from '../../records.js'
import { ORG_ROUTE } from '../access.js'
import type { RouteContext, RoutePlugin } from '../admin-server.js'
import { caPreviewView, caView } from '../views.js'

/** A certificate or CRL travels as PEM text, or as base64 of its DER bytes. */
const PEM_OR_BASE64 = { type: 'string', minLength: 1, maxLength: 512 * 1024 }

export function caRoutes ({ registry, actorOf, refuseUnboundedFetch }: RouteContext): RoutePlugin {
  return async (app: FastifyInstance) => {
    app.get<{ Params: { org: string } }>('/orgs/:org/cas', ORG_ROUTE, async request => ({ cas: registry.require(request.params.org).cas.map(caView) }))

    app.post<{ Params: { org: string }, Body: { certificate: string, description?: string, shared?: boolean } }>('/orgs/:org/cas', {
      ...ORG_ROUTE,
      schema: { body: { type: 'object', required: ['certificate'], additionalProperties: false, properties: { certificate: PEM_OR_BASE64, description: { type: 'string', maxLength: 200 }, shared: { type: 'boolean' } } } }
    }, async (request, reply) => {
      const { certificate, description, shared } = request.body
      const ca = await addCa(registry, request.params.org, certificate, description ?? '', actorOf(request), { shared: shared === true })
      return await reply.status(201).send(caView(ca))
    })

    // What `POST /orgs/:org/cas` would make of the file, saving nothing (the console's preview; ca-preview.ts).
    app.post<{ Params: { org: string }, Body: { certificate: string, shared?: boolean } }>('/orgs/:org/cas/preview', {
      ...ORG_ROUTE,
      schema: { body: { type: 'object', required: ['certificate'], additionalProperties: false, properties: { certificate: PEM_OR_BASE64, shared: { type: 'boolean' } } } }
    }, async request => caPreviewView(previewCa(registry, request.params.org, request.body.certificate, request.body.shared === true)))

    app.get<{ Params: { org: string, ca: string } }>('/orgs/:org/cas/:ca', ORG_ROUTE, async request => caView(findCa(registry, request.params.org, request.params.ca)))

    app.post<{ Params: { org: string, ca: string } }>('/orgs/:org/cas/:ca/disable', ORG_ROUTE, async request =>
      caView(await setCaEnabled(registry, request.params.org, request.params.ca, false, actorOf(request))))

    app.post<{ Params: { org: string, ca: string } }>('/orgs/:org/cas/:ca/enable', ORG_ROUTE, async request =>
      caView(await setCaEnabled(registry, request.params.org, request.params.ca, true, actorOf(request))))

    app.delete<{ Params: { org: string, ca: string } }>('/orgs/:org/cas/:ca', ORG_ROUTE, async request =>
      caView(await removeCa(registry, request.params.org, request.params.ca, actorOf(request))))

    app.put<{ Params: { org: string, ca: string }, Body: { crl: string } }>('/orgs/:org/cas/:ca/crl', {
      ...ORG_ROUTE,
      schema: { body: { type: 'object', required: ['crl'], additionalProperties: false, properties: { crl: PEM_OR_BASE64 } } }
    }, async request => caView(await loadCrl(registry, request.params.org, request.params.ca, request.body.crl, actorOf(request))))

    app.put<{ Params: { org: string, ca: string }, Body: { policy: CrlPolicy } }>('/orgs/:org/cas/:ca/crl-policy', {
      ...ORG_ROUTE,
      schema: { body: { type: 'object', required: ['policy'], additionalProperties: false, properties: { policy: { type: 'string', enum: [...CRL_POLICIES] } } } }
    }, async request => caView(await setCrlPolicy(registry, request.params.org, request.params.ca, request.body.policy, actorOf(request))))

    app.put<{ Params: { org: string, ca: string }, Body: { url?: string, from_certificate?: boolean, certificate?: string, every_seconds?: number } }>('/orgs/:org/cas/:ca/crl-source', {
      ...ORG_ROUTE,
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            url: { type: 'string', minLength: 1, maxLength: 2048 },
            from_certificate: { type: 'boolean' },
            // A device certificate of the CA whose distribution point to take (with from_certificate).
            certificate: PEM_OR_BASE64,
            every_seconds: { type: 'integer', minimum: CRL_SOURCE_EVERY.min, maximum: CRL_SOURCE_EVERY.max }
          }
        }
      }
    }, async request => {
      // Every source is a URL the gateway will fetch: bounded by MQGATE_CRL_FETCH_ALLOW, or an admin's (access.ts).
      refuseUnboundedFetch(request)
      const { url, from_certificate: fromCertificate, certificate, every_seconds: everySeconds } = request.body
      return caView(await setCrlSource(registry, request.params.org, request.params.ca, { url, fromCertificate, certificate, everySeconds }, actorOf(request)))
    })

    app.delete<{ Params: { org: string, ca: string } }>('/orgs/:org/cas/:ca/crl-source', ORG_ROUTE, async request =>
      caView(await clearCrlSource(registry, request.params.org, request.params.ca, actorOf(request))))
    app.put<{ Params: { org: string, ca: string }, Body: { enabled: boolean } }>('/orgs/:org/cas/:ca/ocsp', {
      ...ORG_ROUTE,
      schema: { body: { type: 'object', required: ['enabled'], additionalProperties: false, properties: { enabled: { type: 'boolean' } } } }
    }, async request => {
      // On, the gateway asks the responders its devices' certificates name (AIA); off fetches nothing.
      if (request.body.enabled) refuseUnboundedFetch(request)
      return caView(await setOcspCheck(registry, request.params.org, request.params.ca, request.body.enabled, actorOf(request)))
    })
  }
}
