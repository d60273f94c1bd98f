import type { FastifyReply, FastifyRequest } from 'fastify'
import { CONSOLE_ROUTE } from '../../access.js'
import type { ApiCall } from '../api-calls.js'
import { formFields, type Fields } from '../form-fields.js'
import { isHtmx, refusalOf } from '../page-context.js'
import type { ConsolePage } from './index.js'

type OrgParams = { Params: { org: string } }
type CaParams = { Params: { org: string, ca: string } }
/** The file's content (console.js reads a dropped or chosen file into `certificate`), or the pasted PEM. */
const CA_FIELDS = ['certificate', 'certificate_pem', 'description'] as const
type CaForm = Fields<typeof CA_FIELDS[number]>

/**
 * An organisation's CAs: the list (with each CRL's age and next update),
 * add with a preview first (the file is read in the browser by console.js,
 * or pasted), disable, enable, remove, load a CRL. Each action is the admin
 * API's route of the same name; a refusal shows its code and message.
 */
export const casPage: ConsolePage = ({ app, context }) => {
  const page = async (request: FastifyRequest<OrgParams>, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200): Promise<FastifyReply> => {
    const org = await context.api(request, { method: 'GET', url: orgUrl(request.params.org) })
    const { cas } = await context.api(request, { method: 'GET', url: `${orgUrl(request.params.org)}/cas` })
    return await context.render(request, reply, 'cas', { title: `CAs of ${org.id as string}`, org, cas, now: Date.now(), age, ...extra }, status)
  }
  /** A change, then the page again (303), or the page with the refusal shown and the form as it was. */
  const act = async (request: FastifyRequest<OrgParams>, reply: FastifyReply, call: ApiCall, form: CaForm = {}): Promise<FastifyReply> => {
    const answer = await context.apiAnswer(request, call)
    if (answer.status < 300) return context.redirect(reply, `/console/orgs/${encodeURIComponent(request.params.org)}/cas`)
    const refusal = refusalOf(answer)
    if (answer.status === 401 || answer.status === 403) throw refusal
    return await page(request, reply, { refusal, form }, answer.status)
  }

  app.get<OrgParams>('/orgs/:org/cas', CONSOLE_ROUTE, async (request, reply) => await page(request, reply))

  app.post<OrgParams>('/orgs/:org/cas/preview', CONSOLE_ROUTE, async (request, reply) => {
    const form = formFields(request, CA_FIELDS)
    const answer = await context.apiAnswer(request, { method: 'POST', url: `${orgUrl(request.params.org)}/cas/preview`, body: { certificate: certificateOf(form) } })
    const preview = answer.status < 300 ? answer.body : undefined
    const refusal = answer.status < 300 ? undefined : refusalOf(answer)
    if (refusal !== undefined && (answer.status === 401 || answer.status === 403)) throw refusal
    if (isHtmx(request)) return await context.fragment(request, reply, 'ca-preview', { preview, refusal })
    return await page(request, reply, { preview, previewRefusal: refusal, form: { description: form.description } })
  })

  app.post<OrgParams>('/orgs/:org/cas', CONSOLE_ROUTE, async (request, reply) => {
    const form = formFields(request, CA_FIELDS)
    return await act(request, reply, { method: 'POST', url: `${orgUrl(request.params.org)}/cas`, body: { certificate: certificateOf(form), description: form.description ?? '' } }, { description: form.description })
  })

  for (const action of ['disable', 'enable'] as const) {
    app.post<CaParams>(`/orgs/:org/cas/:ca/${action}`, CONSOLE_ROUTE, async (request, reply) =>
      await act(request, reply, { method: 'POST', url: `${caUrl(request.params)}/${action}` }))
  }

  app.post<CaParams>('/orgs/:org/cas/:ca/remove', CONSOLE_ROUTE, async (request, reply) =>
    await act(request, reply, { method: 'DELETE', url: caUrl(request.params) }))

  app.post<CaParams>('/orgs/:org/cas/:ca/crl', CONSOLE_ROUTE, async (request, reply) =>
    await act(request, reply, { method: 'PUT', url: `${caUrl(request.params)}/crl`, body: { crl: formFields(request, ['crl']).crl ?? '' } }))
}

/** Never echoed back into the page: a pasted file may hold a private key. */
function certificateOf (form: CaForm): string {
  const file = (form.certificate ?? '').trim()
  return file !== '' ? file : (form.certificate_pem ?? '').trim()
}

function orgUrl (org: string): string {
  return `/orgs/${encodeURIComponent(org)}`
}

function caUrl ({ org, ca }: { org: string, ca: string }): string {
  return `${orgUrl(org)}/cas/${encodeURIComponent(ca)}`
}

/** '3 h', '2 d': how long ago (or, negative, how far ahead) an ISO instant is from `now`. */
export function age (iso: string | null | undefined, now: number): string {
  if (iso === null || iso === undefined) return '-'
  const seconds = Math.round((now - Date.parse(iso)) / 1000)
  const abs = Math.abs(seconds)
  const text = abs < 120 ? `${abs} s` : abs < 7200 ? `${Math.round(abs / 60)} min` : abs < 172800 ? `${Math.round(abs / 3600)} h` : `${Math.round(abs / 86400)} d`
  return seconds < 0 ? `in ${text}` : `${text} ago`
}
