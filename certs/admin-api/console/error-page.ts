import { fileURLToPath } from 'node:url'
import { Eta } from 'eta'
import type { Failure } from '../../../http/error-handler.js'

const TEMPLATES = fileURLToPath(new URL('./templates/', import.meta.url))
const eta = new Eta({ views: TEMPLATES, autoEscape: true, cache: true })

/**
 * The console's error page (templates/error.eta in its layout) for an answer
 * made outside the console's routes: fastify's router refuses a malformed URL
 * before any route, hook or session check runs (framework-errors.ts), so
 * there is no reply.view and no signed-in operator, and the page is the
 * signed-out one.
 */
export function consoleErrorPage (failure: Failure): string {
  return eta.render('error', { title: `Error ${failure.status}`, refusal: failure, operator: undefined, csrf: '', orgPages: [], org: undefined })
}
