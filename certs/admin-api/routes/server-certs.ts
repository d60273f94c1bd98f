import type { FastifyInstance } from 'fastify'
import { activateServerCert, createServerCsr, issueServerCert, uploadServerCert } from '../../server-cert-admin.js'
import { ORG_ROUTE } from '../access.js'
import type { RouteContext, RoutePlugin } from '../admin-server.js'
import { serverCertView } from '../views.js'

export function serverCertRoutes ({ registry, actorOf }: RouteContext): RoutePlugin {
  return async (app: FastifyInstance) => {
    app.get<{ Params: { org: string } }>('/orgs/:org/server-certs', ORG_ROUTE, async request => {
      const state = registry.require(request.params.org)
      return { server_certificates: state.serverCerts.map(sc => serverCertView(sc, state.org.activeServerCertId)) }
    })

    app.post<{ Params: { org: string }, Body: { cn?: string, sans?: string[], reuse_key?: boolean } }>('/orgs/:org/server-certs/csr', {
      ...ORG_ROUTE,
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { cn: { type: 'string', maxLength: 253 }, sans: { type: 'array', maxItems: 50, items: { type: 'string', maxLength: 253 } }, reuse_key: { type: 'boolean' } }
        }
      }
    }, async (request, reply) => {
      const body = request.body ?? {}
      const record = await createServerCsr(registry, request.params.org, { commonName: body.cn, sans: body.sans, reuseKey: body.reuse_key }, actorOf(request))
      return await reply.status(201).send(serverCertView(record, registry.require(request.params.org).org.activeServerCertId))
    })

    app.post<{ Params: { org: string }, Body: { sans?: string[], days?: number } }>('/orgs/:org/server-certs/issue', {
      ...ORG_ROUTE,
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { sans: { type: 'array', maxItems: 50, items: { type: 'string', maxLength: 253 } }, days: { type: 'integer' } }
        }
      }
    }, async (request, reply) => {
      const body = request.body ?? {}
      const record = await issueServerCert(registry, request.params.org, { names: body.sans, days: body.days }, actorOf(request))
      return await reply.status(201).send(serverCertView(record, registry.require(request.params.org).org.activeServerCertId))
    })

    app.post<{ Params: { org: string }, Body: { certificate: string, key?: string, passphrase?: string } }>('/orgs/:org/server-certs', {
      ...ORG_ROUTE,
      schema: {
        body: {
          type: 'object',
          required: ['certificate'],
          additionalProperties: false,
          properties: { certificate: { type: 'string', minLength: 1, maxLength: 512 * 1024 }, key: { type: 'string', maxLength: 64 * 1024 }, passphrase: { type: 'string', maxLength: 1024 } }
        }
      }
    }, async (request, reply) => {
      const { certificate, key, passphrase } = request.body
      const record = await uploadServerCert(registry, request.params.org, { certificate, keyPem: key, passphrase }, actorOf(request))
      return await reply.status(201).send(serverCertView(record, registry.require(request.params.org).org.activeServerCertId))
    })

    app.post<{ Params: { org: string, id: string } }>('/orgs/:org/server-certs/:id/activate', ORG_ROUTE, async request => {
      const record = await activateServerCert(registry, request.params.org, request.params.id, actorOf(request))
      return serverCertView(record, record.id)
    })
  }
}
