import type { FastifyInstance } from 'fastify'
import type { RoutePlugin } from '../certs/index.js'
import type { DeadLetters } from './dead-letters.js'

/** The operator's view of readings, on the admin API: dead letters (newest first) and counters. */
export function readingAdminRoutes (deadLetters: DeadLetters): RoutePlugin {
  return async (app: FastifyInstance) => {
    // Query strings are text, and the admin API does not coerce types: the limit is checked as digits.
    // Admins only: the dead letters and counters span every organisation.
    app.get<{ Querystring: { org?: string, limit?: string } }>('/readings/dead-letters', {
      config: { access: 'admin' },
      schema: { querystring: { type: 'object', additionalProperties: false, properties: { org: { type: 'string', maxLength: 63 }, limit: { type: 'string', pattern: '^[1-9][0-9]{0,3}$|^10000$' } } } }
    }, async request => ({ dead_letters: await deadLetters.list(Number(request.query.limit ?? 100), request.query.org) }))

    app.get('/readings/counters', { config: { access: 'admin' } }, async () => ({ counters: await deadLetters.counters() }))
  }
}
