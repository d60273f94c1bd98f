import type { FastifyReply, FastifyRequest } from 'fastify'
import { CONSOLE_ROUTE } from '../../access.js'
import { isHtmx, refusalOf } from '../page-context.js'
import { age } from './cas-page.js'
import type { ConsolePage } from './index.js'

/** A polled fragment's route (console-plugin.ts, ConsoleRouteConfig): signed in, but no activity. */
const POLLED = { config: { access: 'console', passive: true } } as const

type OrgParams = { Params: { org: string } }
type SessionParams = { Params: { org: string, clientId: string } }

/**
 * An organisation's live MQTT sessions (`GET /orgs/:org/sessions`): the table
 * refreshes itself every few seconds (htmx polling of its own fragment), so a
 * revocation elsewhere shows as the session leaving; Disconnect is `DELETE
 * /orgs/:org/sessions/:clientId` as the signed-in operator.
 */
export const sessionsPage: ConsolePage = ({ app, context, whoOf }) => {
  const data = async (request: FastifyRequest<OrgParams>): Promise<Record<string, unknown>> => {
    const org = await context.api(request, { method: 'GET', url: orgUrl(request.params.org) })
    const { sessions } = await context.api(request, { method: 'GET', url: `${orgUrl(request.params.org)}/sessions` })
    return { title: `Live sessions of ${org.id as string}`, org, sessions, now: Date.now(), age }
  }
  const page = async (request: FastifyRequest<OrgParams>, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200): Promise<FastifyReply> =>
    await context.render(request, reply, 'sessions', { ...await data(request), ...extra }, status)

  app.get<OrgParams>('/orgs/:org/sessions', CONSOLE_ROUTE, async (request, reply) => await page(request, reply))

  // The polled fragment: the table alone, with the operator's role to offer (or not) Disconnect. A poll
  // is the page's doing, not the operator's: passive, or an open tab would keep its session alive for ever.
  app.get<OrgParams>('/orgs/:org/sessions/table', POLLED, async (request, reply) => {
    return await context.fragment(request, reply, 'sessions-table', { ...await data(request), operator: whoOf(request).principal })
  })

  app.post<SessionParams>('/orgs/:org/sessions/:clientId/disconnect', CONSOLE_ROUTE, async (request, reply) => {
    const answer = await context.apiAnswer(request, { method: 'DELETE', url: `${orgUrl(request.params.org)}/sessions/${encodeURIComponent(request.params.clientId)}` })
    if (answer.status < 300) return context.redirect(reply, `/console${orgUrl(request.params.org)}/sessions`)
    const refusal = refusalOf(answer)
    if (answer.status === 401 || answer.status === 403 || isHtmx(request)) throw refusal
    return await page(request, reply, { refusal }, answer.status)
  })
}

function orgUrl (org: string): string {
  return `/orgs/${encodeURIComponent(org)}`
}
