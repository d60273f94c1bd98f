import type { FastifyInstance } from 'fastify'
import { ORG_ROUTE } from '../access.js'
import type { RouteContext, RoutePlugin } from '../admin-server.js'
import { AdminError } from '../errors.js'

type AuditQuery = { operator?: string, action?: string, since?: string, limit?: number }

/**
 * `GET /orgs/:org/audit`: the organisation's stored audit entries, newest
 * first (the last 1000, certs/audit-trail.ts), filtered by operator name,
 * action (`cert.revoke`, or a family: `cert`) and time (`since`: an ISO 8601
 * instant, or how long ago: `30m`, `2h`, `7d`).
 */
export function auditRoutes ({ registry }: RouteContext): RoutePlugin {
  return async (app: FastifyInstance) => {
    app.get<{ Params: { org: string }, Querystring: AuditQuery }>('/orgs/:org/audit', {
      ...ORG_ROUTE,
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            operator: { type: 'string', maxLength: 64 },
            action: { type: 'string', maxLength: 64 },
            since: { type: 'string', maxLength: 40 },
            limit: { type: 'integer', minimum: 1, maximum: 1000 }
          }
        }
      }
    }, async request => {
      registry.require(request.params.org)
      const { operator, action, since, limit } = request.query
      const entries = await registry.auditEntries(request.params.org, { operator, action, since: sinceOf(since, Date.now()) })
      return { entries: entries.slice(0, limit ?? 100).map(e => ({ at: e.at, operator: e.operator, actor: e.actor, action: e.action, ...e.fields })) }
    })
  }
}

const UNIT_MS: Readonly<Record<string, number>> = { m: 60_000, h: 3_600_000, d: 86_400_000 }

/** ms since the epoch, or undefined for no bound; a value that is neither form is a 400. */
export function sinceOf (since: string | undefined, now: number): number | undefined {
  if (since === undefined || since === '') return undefined
  const ago = /^(\d{1,6})([mhd])$/.exec(since)
  if (ago !== null) return now - Number(ago[1]) * UNIT_MS[ago[2]]
  const at = Date.parse(since)
  if (/^\d{4}-\d{2}-\d{2}/.test(since) && !Number.isNaN(at)) return at
  throw new AdminError('ADMIN_ERR_BAD_REQUEST', `since must be an ISO 8601 time or how long ago (30m, 2h, 7d), not ${since}`)
}
