import type { FastifyInstance } from 'fastify'
import { orgLimitsOf, setOrgLimits } from '../../org-limits.js'
import { ORG_ROUTE } from '../access.js'
import type { RouteContext, RoutePlugin } from '../admin-server.js'
import { orgLimitsView } from '../views.js'

/**
 * Any JSON value: a limit that is not a whole number in range is refused by
 * setOrgLimits with CERTS_ERR_LIMIT_INVALID, the code the CLI shows too,
 * rather than by the schema with a generic ADMIN_ERR_BAD_REQUEST.
 */
const LIMIT_VALUE = {}

export function orgLimitRoutes ({ registry, actorOf }: RouteContext): RoutePlugin {
  return async (app: FastifyInstance) => {
    app.get<{ Params: { org: string } }>('/orgs/:org/limits', ORG_ROUTE, async request => {
      const state = registry.require(request.params.org)
      return orgLimitsView(state.org.id, orgLimitsOf(state), state.org.limits?.updatedAt)
    })

    // PATCH: a limit left out keeps its value; null lifts it.
    app.patch<{ Params: { org: string }, Body: { connections?: unknown, publish_rate?: unknown } }>('/orgs/:org/limits', {
      ...ORG_ROUTE,
      schema: { body: { type: 'object', additionalProperties: false, properties: { connections: LIMIT_VALUE, publish_rate: LIMIT_VALUE } } }
    }, async request => {
      const { connections, publish_rate: publishRate } = request.body
      await setOrgLimits(registry, request.params.org, { connections, publishRate }, actorOf(request))
      const state = registry.require(request.params.org)
      return orgLimitsView(state.org.id, orgLimitsOf(state), state.org.limits?.updatedAt)
    })
  }
}
