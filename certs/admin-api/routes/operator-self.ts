import type { FastifyInstance } from 'fastify'
import { SELF_ROUTE } from '../access.js'
import type { RouteContext, RoutePlugin } from '../admin-server.js'
import { operatorView } from '../operators/operator.js'
import type { OperatorAdmin } from '../operators/operator-admin.js'

/**
 * What any operator may do to its own record (access `self`): see it, and set
 * or clear the password it signs in to the console with (`mqgate operator
 * password`). The record is the caller's, found from its token, never from
 * the URL, so no operator reaches another's. Answers never carry the hash,
 * only `password_set`.
 */
export function operatorSelfRoutes ({ actorOf, principalOf }: RouteContext, operators: OperatorAdmin): RoutePlugin {
  return async (app: FastifyInstance) => {
    app.get('/operators/self', SELF_ROUTE, async request => {
      const who = principalOf(request)
      const record = await operators.own(who)
      // The bootstrap token has no record: what it is, and that it cannot hold a password.
      if (record === undefined) return { name: who.name, role: who.role, orgs: who.orgs, bootstrap: true, password_set: false }
      return { ...operatorView(record), bootstrap: false }
    })

    app.put<{ Body: { password: string } }>('/operators/self/password', {
      ...SELF_ROUTE,
      schema: {
        body: {
          type: 'object',
          required: ['password'],
          additionalProperties: false,
          // Wider than the policy (1024), so a long password is refused by the policy's own code, ADMIN_ERR_PASSWORD_WEAK.
          properties: { password: { type: 'string', maxLength: 4096 } }
        }
      }
    }, async request => operatorView(await operators.setPassword(principalOf(request), request.body.password, actorOf(request))))

    app.delete('/operators/self/password', SELF_ROUTE, async request =>
      operatorView(await operators.setPassword(principalOf(request), undefined, actorOf(request))))
  }
}
