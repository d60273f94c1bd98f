import type { FastifyReply, FastifyRequest } from 'fastify'
import { CONSOLE_ROUTE } from '../../access.js'
import { formFields, queryFields } from '../form-fields.js'
import { refusalOf } from '../page-context.js'
import type { ConsolePage } from './index.js'

type OrgParams = { Params: { org: string } }
type GatewayParams = { Params: { org: string, gateway: string } }

/**
 * An organisation's gateways and the devices each may act for
 * (`mqgate gateway devices`). The admin API has no list of gateways (a
 * gateway is any certificate `g:<type>:<id>`), so the page looks one up by
 * its id, shows its scope (GET) and sets it (PUT; empty: any device).
 */
export const gatewaysPage: ConsolePage = ({ app, context }) => {
  const pageUrl = (org: string, gateway: string): string => `/console/orgs/${encodeURIComponent(org)}/gateways?gateway=${encodeURIComponent(gateway)}`
  const page = async (request: FastifyRequest<OrgParams>, reply: FastifyReply, gatewayId: string, extra: Record<string, unknown> = {}, status = 200): Promise<FastifyReply> => {
    const org = await context.api(request, { method: 'GET', url: orgUrl(request.params.org) })
    const gateway = gatewayId === '' ? undefined : await context.api(request, { method: 'GET', url: devicesUrl(request.params.org, gatewayId) })
    return await context.render(request, reply, 'gateways', { title: `Gateways of ${org.id as string}`, org, gatewayId, gateway, ...extra }, status)
  }

  app.get<OrgParams>('/orgs/:org/gateways', CONSOLE_ROUTE, async (request, reply) => await page(request, reply, (queryFields(request, ['gateway']).gateway ?? '').trim()))

  app.post<GatewayParams>('/orgs/:org/gateways/:gateway/devices', CONSOLE_ROUTE, async (request, reply) => {
    // One entry a line (or comma separated): <typeId>:<deviceId> or <typeId>:*.
    const typed = formFields(request, ['allow']).allow ?? ''
    const allow = typed.split(/[\s,]+/).filter(entry => entry !== '')
    const answer = await context.apiAnswer(request, { method: 'PUT', url: devicesUrl(request.params.org, request.params.gateway), body: { allow } })
    if (answer.status < 300) return context.redirect(reply, pageUrl(request.params.org, request.params.gateway))
    const refusal = refusalOf(answer)
    if (refusal.status === 401 || refusal.status === 403) throw refusal
    return await page(request, reply, '', { refusal, gatewayId: request.params.gateway, typed }, refusal.status)
  })
}

function orgUrl (org: string): string {
  return `/orgs/${encodeURIComponent(org)}`
}

function devicesUrl (org: string, gateway: string): string {
  return `${orgUrl(org)}/gateways/${encodeURIComponent(gateway)}/devices`
}
