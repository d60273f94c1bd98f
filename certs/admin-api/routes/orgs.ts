import type { FastifyInstance } from 'fastify'
import { ADMIN_ROUTE, ORG_ROUTE, seesOrg } from '../access.js'
import type { RouteContext, RoutePlugin } from '../admin-server.js'
import { orgView } from '../views.js'
import { moveCaKeyToToken } from '../../ca-key-move.js'
import { pinsOf } from '../../pin-report.js'
import { CA_KEY_TYPES, type CaKeyType } from '../../signer.js'

export function orgRoutes ({ registry, actorOf, principalOf }: RouteContext): RoutePlugin {
  return async (app: FastifyInstance) => {
    // Any operator lists organisations, and sees only its own.
    app.get('/orgs', { config: { access: 'org-list' } }, async request => ({
      orgs: registry.list().filter(state => seesOrg(principalOf(request), state.org.id)).map(state => orgView(state, registry.serverNameFor(state.org.id)))
    }))

    app.post<{ Body: { id: string, ca_key_type?: CaKeyType, ca_key?: string } }>('/orgs', {
      ...ADMIN_ROUTE,
      schema: {
        body: {
          type: 'object',
          required: ['id'],
          additionalProperties: false,
          properties: {
            id: { type: 'string', maxLength: 63 },
            ca_key_type: { type: 'string', enum: [...CA_KEY_TYPES] },
            // A PKCS#11 URI (RFC 7512): the CA key is generated in (or found in) that token.
            ca_key: { type: 'string', maxLength: 1000 }
          }
        }
      }
    }, async (request, reply) => {
      const state = await registry.createOrg(request.body.id, [], actorOf(request), { caKeyType: request.body.ca_key_type, caKeyUri: request.body.ca_key })
      return await reply.status(201).send(orgView(state, registry.serverNameFor(state.org.id)))
    })

    app.get<{ Params: { org: string } }>('/orgs/:org', ORG_ROUTE, async request => {
      const state = registry.require(request.params.org)
      return orgView(state, registry.serverNameFor(state.org.id))
    })

    // `org ca-key <org> move-to pkcs11:<uri>`: a new managed CA in the token, the old one kept for trust only (ca-key-move.ts).
    app.put<{ Params: { org: string }, Body: { ca_key: string, ca_key_type?: CaKeyType } }>('/orgs/:org/ca-key', {
      ...ORG_ROUTE,
      schema: {
        body: {
          type: 'object',
          required: ['ca_key'],
          additionalProperties: false,
          properties: { ca_key: { type: 'string', maxLength: 1000 }, ca_key_type: { type: 'string', enum: [...CA_KEY_TYPES] } }
        }
      }
    }, async request => {
      const state = await moveCaKeyToToken(registry, request.params.org, request.body.ca_key, actorOf(request), request.body.ca_key_type)
      return orgView(state, registry.serverNameFor(state.org.id))
    })

    app.get<{ Params: { org: string } }>('/orgs/:org/pins', ORG_ROUTE, async request => pinsOf(registry.require(request.params.org)))
  }
}
