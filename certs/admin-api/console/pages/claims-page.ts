import type { FastifyReply, FastifyRequest } from 'fastify'
import { CONSOLE_ROUTE } from '../../access.js'
import { formFields } from '../form-fields.js'
import { ApiRefusal, refusalOf } from '../page-context.js'
import type { ConsolePage } from './index.js'

type OrgParams = { Params: { org: string } }
type ClaimParams = { Params: { org: string, name: string } }
const CLAIM_FIELDS = ['name', 'types', 'max_uses', 'expires'] as const
const TOKEN_FIELDS = ['cn', 'ttl'] as const

/**
 * An organisation's enrollment: claims (list, create, revoke) and one-time
 * enrollment tokens. Both creations answer a credential once: the claim's key
 * as a download (never a page), the token in the one answer page (no-store,
 * as every console answer) and never again. Every action is the admin API's
 * route (routes/enrollment.ts).
 */
export const claimsPage: ConsolePage = ({ app, context }) => {
  const listUrl = (org: string): string => `/console/orgs/${encodeURIComponent(org)}/claims`
  const page = async (request: FastifyRequest<OrgParams>, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200): Promise<FastifyReply> => {
    const org = await context.api(request, { method: 'GET', url: orgUrl(request.params.org) })
    const { claims } = await context.api(request, { method: 'GET', url: `${orgUrl(request.params.org)}/claims` })
    return await context.render(request, reply, 'claims', { title: `Claims and enrollment tokens of ${org.id as string}`, org, claims, ...extra }, status)
  }
  const refuse = async (request: FastifyRequest<OrgParams>, reply: FastifyReply, refusal: ApiRefusal, extra: Record<string, unknown> = {}): Promise<FastifyReply> => {
    if (refusal.status === 401 || refusal.status === 403) throw refusal
    return await page(request, reply, { refusal, ...extra }, refusal.status)
  }

  app.get<OrgParams>('/orgs/:org/claims', CONSOLE_ROUTE, async (request, reply) => await page(request, reply))

  app.post<OrgParams>('/orgs/:org/claims', CONSOLE_ROUTE, async (request, reply) => {
    const form = formFields(request, CLAIM_FIELDS)
    const body: Record<string, unknown> = {
      name: (form.name ?? '').trim(),
      types: (form.types ?? '').split(/[\s,]+/).filter(type => type !== '')
    }
    if ((form.max_uses ?? '').trim() !== '') body.max_uses = Number(form.max_uses)
    if ((form.expires ?? '').trim() !== '') body.expires = (form.expires ?? '').trim()
    const answer = await context.apiAnswer(request, { method: 'POST', url: `${orgUrl(request.params.org)}/claims`, body })
    if (answer.status >= 300) return await refuse(request, reply, refusalOf(answer), { claimForm: form })
    return handOver(reply, answer.body)
  })

  app.post<ClaimParams>('/orgs/:org/claims/:name/revoke', CONSOLE_ROUTE, async (request, reply) => {
    const answer = await context.apiAnswer(request, { method: 'DELETE', url: `${orgUrl(request.params.org)}/claims/${encodeURIComponent(request.params.name)}` })
    if (answer.status < 300) return context.redirect(reply, listUrl(request.params.org))
    return await refuse(request, reply, refusalOf(answer))
  })

  app.post<OrgParams>('/orgs/:org/enroll-tokens', CONSOLE_ROUTE, async (request, reply) => {
    const form = formFields(request, TOKEN_FIELDS)
    const body: Record<string, unknown> = { cn: (form.cn ?? '').trim() }
    if ((form.ttl ?? '').trim() !== '') body.ttl = (form.ttl ?? '').trim()
    const answer = await context.apiAnswer(request, { method: 'POST', url: `${orgUrl(request.params.org)}/enroll-tokens`, body })
    if (answer.status >= 300) return await refuse(request, reply, refusalOf(answer), { tokenForm: form })
    // The token's one showing: this answer (the console's answers are all no-store), never kept.
    return await page(request, reply, { token: answer.body }, 201)
  })
}

/**
 * The claim key's one way out: this answer, as an attachment `c_<name>.pem`
 * (certificate, key, CA, as `mqgate claim create` writes it); never a page.
 */
function handOver (reply: FastifyReply, created: any): FastifyReply {
  const name = String(created.name).replace(/[^A-Za-z0-9._-]/g, '_')
  const pem = String(created.certificate) + String(created.private_key) + String(created.ca_certificate)
  return reply.type('application/x-pem-file').header('cache-control', 'no-store')
    .header('content-disposition', `attachment; filename="c_${name}.pem"`).send(pem)
}

function orgUrl (org: string): string {
  return `/orgs/${encodeURIComponent(org)}`
}
