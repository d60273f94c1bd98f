import type { FastifyInstance } from 'fastify'
import { ADMIN_ROUTE } from '../access.js'
import type { RouteContext, RoutePlugin } from '../admin-server.js'
import { operatorView } from '../operators/operator.js'
import type { OperatorAdmin } from '../operators/operator-admin.js'

/**
 * `operator create|list|revoke|rotate`, and `operator password --clear
 * --name`: admins only. Create and rotate answer `{name, role, orgs, token}`,
 * the one time the token is shown.
 */
export function operatorRoutes ({ actorOf }: RouteContext, operators: OperatorAdmin): RoutePlugin {
  return async (app: FastifyInstance) => {
    app.post<{ Body: { name: string, role: string, orgs?: string[] } }>('/operators', {
      ...ADMIN_ROUTE,
      schema: {
        body: {
          type: 'object',
          required: ['name', 'role'],
          additionalProperties: false,
          properties: { name: { type: 'string', maxLength: 64 }, role: { type: 'string', maxLength: 20 }, orgs: { type: 'array', maxItems: 1000, items: { type: 'string', maxLength: 63 } } }
        }
      }
    }, async (request, reply) => {
      const { name, role, orgs } = request.body
      return await reply.status(201).send(await operators.create(name, role, orgs ?? [], actorOf(request)))
    })

    app.get('/operators', ADMIN_ROUTE, async () => ({ operators: (await operators.list()).map(operatorView) }))

    app.delete<{ Params: { name: string } }>('/operators/:name', ADMIN_ROUTE, async request =>
      operatorView(await operators.revoke(request.params.name, actorOf(request))))

    app.post<{ Params: { name: string } }>('/operators/:name/rotate', ADMIN_ROUTE, async request =>
      await operators.rotate(request.params.name, actorOf(request)))

    // DELETE /operators/self/password (operator-self.ts) is the caller's own: a static route, chosen before this one; no operator is named self.
    app.delete<{ Params: { name: string } }>('/operators/:name/password', ADMIN_ROUTE, async request =>
      operatorView(await operators.clearPassword(request.params.name, actorOf(request))))
  }
}
