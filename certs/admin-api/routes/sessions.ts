import type { FastifyInstance } from 'fastify'
import { ORG_ROUTE } from '../access.js'
import type { RouteContext, RoutePlugin } from '../admin-server.js'
import { AdminError } from '../errors.js'
import type { LiveSessionDirectory } from '../live-sessions.js'

type SessionParams = { Params: { org: string, clientId: string } }

/**
 * Who is connected to an organisation now, and disconnecting one
 * (`mqgate session list|disconnect`). A viewer lists; disconnecting is a
 * change (org-admin or admin), written to the audit like every change.
 */
export function sessionRoutes ({ registry, actorOf }: RouteContext, directory: LiveSessionDirectory | undefined): RoutePlugin {
  const sessions = (): LiveSessionDirectory => {
    if (directory === undefined) throw new AdminError('ADMIN_ERR_SESSIONS_UNAVAILABLE', 'this admin API runs without a broker: ask the admin API of a broker process')
    return directory
  }
  return async (app: FastifyInstance) => {
    app.get<{ Params: { org: string } }>('/orgs/:org/sessions', ORG_ROUTE, async request => {
      registry.require(request.params.org)
      return { sessions: await sessions().list(request.params.org) }
    })

    app.delete<SessionParams>('/orgs/:org/sessions/:clientId', ORG_ROUTE, async (request, reply) => {
      const { org, clientId } = request.params
      registry.require(org)
      if (!await sessions().disconnect(org, clientId)) throw new AdminError('ADMIN_ERR_SESSION_NOT_FOUND', `no live session of client ${clientId} in ${org}`)
      registry.audit(actorOf(request), 'session.disconnect', org, { clientId })
      return await reply.status(204).send()
    })
  }
}
