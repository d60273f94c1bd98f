import { CONSOLE_ROUTE } from '../../access.js'
import { queryFields } from '../form-fields.js'
import { refusalOf } from '../page-context.js'
import type { ConsolePage } from './index.js'

type AuditParams = { Params: { org: string } }

/**
 * An organisation's audit log (`GET /orgs/:org/audit`), filtered by operator,
 * action and time with a GET form, so a filtered view is a URL to share. A
 * filter the API refuses (a `since` it cannot read) shows its code in the page.
 */
export const auditPage: ConsolePage = ({ app, context }) => {
  app.get<AuditParams>('/orgs/:org/audit', CONSOLE_ROUTE, async (request, reply) => {
    const org = await context.api(request, { method: 'GET', url: `/orgs/${encodeURIComponent(request.params.org)}` })
    const query = queryFields(request, ['operator', 'action', 'since'])
    const filter = { operator: text(query.operator), action: text(query.action), since: text(query.since) }
    const search = new URLSearchParams(Object.entries(filter).filter(([, v]) => v !== '')).toString()
    const answer = await context.apiAnswer(request, { method: 'GET', url: `/orgs/${encodeURIComponent(request.params.org)}/audit${search === '' ? '' : `?${search}`}` })
    if (answer.status === 401 || answer.status === 403) throw refusalOf(answer)
    const entries = answer.status < 300 ? answer.body.entries : []
    const refusal = answer.status < 300 ? undefined : refusalOf(answer)
    return await context.render(request, reply, 'audit', { title: `Audit log of ${org.id as string}`, org, entries, filter, refusal, detailsOf }, answer.status < 300 ? 200 : answer.status)
  })
}

function text (value: string | undefined): string {
  return (value ?? '').trim()
}

/** The entry's own fields (fingerprint, serial, clientId …) as `name=value` pairs. */
function detailsOf (entry: Record<string, unknown>): string {
  return Object.entries(entry).filter(([key]) => !['at', 'operator', 'actor', 'action'].includes(key)).map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`).join(' ')
}
