import type { FastifyInstance } from 'fastify'
import { DEFAULT_RENEWAL_WINDOW_PERCENT, renewalWindowOf, setRenewalWindow } from '../../enrollment/renewal-window.js'
import type { OrgState } from '../../records.js'
import { ORG_ROUTE } from '../access.js'
import type { RouteContext, RoutePlugin } from '../admin-server.js'

/**
 * `mqgate org renewal <org> [--window N%|any]`: how early in their lifetime
 * the organisation's certificates may renew over EST. Org-scoped: an admin,
 * or an org-admin of that organisation, changes it; a viewer reads it.
 */
export function orgRenewalRoutes ({ registry, actorOf }: RouteContext): RoutePlugin {
  return async (app: FastifyInstance) => {
    app.get<{ Params: { org: string } }>('/orgs/:org/renewal', ORG_ROUTE, async request => renewalView(registry.require(request.params.org)))

    // Any JSON value for window: setRenewalWindow refuses a bad one with CERTS_ERR_RENEW_WINDOW_INVALID, the code the CLI shows.
    app.put<{ Params: { org: string }, Body: { window?: unknown } }>('/orgs/:org/renewal', {
      ...ORG_ROUTE,
      schema: { body: { type: 'object', additionalProperties: false, required: ['window'], properties: { window: {} } } }
    }, async request => {
      await setRenewalWindow(registry, request.params.org, request.body.window, actorOf(request))
      return renewalView(registry.require(request.params.org))
    })
  }
}

function renewalView (state: OrgState): Record<string, unknown> {
  return { org: state.org.id, window_percent: renewalWindowOf(state), default: state.org.renewal === undefined, default_window_percent: DEFAULT_RENEWAL_WINDOW_PERCENT, updated_at: state.org.renewal?.updatedAt ?? null }
}
