import type { FastifyInstance } from 'fastify'
import { setGatewayDevices } from '../../gateway-scopes.js'
import { ORG_ROUTE } from '../access.js'
import type { RouteContext, RoutePlugin } from '../admin-server.js'
import { gatewayView } from '../views.js'

export function gatewayRoutes ({ registry, actorOf }: RouteContext): RoutePlugin {
  return async (app: FastifyInstance) => {
    app.get<{ Params: { org: string, gateway: string } }>('/orgs/:org/gateways/:gateway/devices', ORG_ROUTE, async request => {
      const state = registry.require(request.params.org)
      return gatewayView(request.params.gateway, state.gateways.find(g => g.id === request.params.gateway))
    })

    app.put<{ Params: { org: string, gateway: string }, Body: { allow: string[] } }>('/orgs/:org/gateways/:gateway/devices', {
      ...ORG_ROUTE,
      schema: { body: { type: 'object', required: ['allow'], additionalProperties: false, properties: { allow: { type: 'array', maxItems: 10_000, items: { type: 'string', maxLength: 200 } } } } }
    }, async request => {
      const record = await setGatewayDevices(registry, request.params.org, request.params.gateway, request.body.allow, actorOf(request))
      return gatewayView(request.params.gateway, record)
    })
  }
}
