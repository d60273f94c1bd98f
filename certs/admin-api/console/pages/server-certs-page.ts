import type { FastifyReply, FastifyRequest } from 'fastify'
import { CONSOLE_ROUTE } from '../../access.js'
import type { ApiCall } from '../api-calls.js'
import { formFields } from '../form-fields.js'
import { ApiRefusal, refusalOf } from '../page-context.js'
import type { ConsolePage } from './index.js'

type OrgParams = { Params: { org: string } }
type CertParams = { Params: { org: string, id: string } }
const CSR_FIELDS = ['cn', 'sans', 'reuse_key'] as const
/** `certificate`/`key`: chosen files (console.js reads them); `certificate_pem`/`key_pem`: pasted. */
const UPLOAD_FIELDS = ['certificate', 'certificate_pem', 'key', 'key_pem', 'passphrase'] as const

/**
 * An organisation's server certificates: generate a CSR from a form and
 * download it, upload the signed certificate (or a certificate with its key
 * and passphrase), activate, and the SPKI pins for mobile apps. Every action
 * is the admin API's route (server-certs.ts, `GET /orgs/:org/pins`). The
 * server key never comes back: the API has no route that returns it.
 */
export const serverCertsPage: ConsolePage = ({ app, context }) => {
  const listUrl = (org: string): string => `/console/orgs/${encodeURIComponent(org)}/server-certs`
  const page = async (request: FastifyRequest<OrgParams>, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200): Promise<FastifyReply> => {
    const org = await context.api(request, { method: 'GET', url: orgUrl(request.params.org) })
    const { server_certificates: serverCerts } = await context.api(request, { method: 'GET', url: `${orgUrl(request.params.org)}/server-certs` })
    const pins = await context.api(request, { method: 'GET', url: `${orgUrl(request.params.org)}/pins` })
    return await context.render(request, reply, 'server-certs', { title: `Server certificates of ${org.id as string}`, org, serverCerts, pins, ...extra }, status)
  }
  /** A change, then the page again (303), or the page with the refusal shown. */
  const act = async (request: FastifyRequest<OrgParams>, reply: FastifyReply, call: ApiCall, form: Record<string, unknown> = {}): Promise<FastifyReply> => {
    const answer = await context.apiAnswer(request, call)
    if (answer.status < 300) return context.redirect(reply, listUrl(request.params.org))
    const refusal = refusalOf(answer)
    if (answer.status === 401 || answer.status === 403) throw refusal
    return await page(request, reply, { refusal, form }, answer.status)
  }

  app.get<OrgParams>('/orgs/:org/server-certs', CONSOLE_ROUTE, async (request, reply) => await page(request, reply))

  // The new CSR is the answer, as a download; it also stays on the page (pending) to download again.
  app.post<OrgParams>('/orgs/:org/server-certs/csr', CONSOLE_ROUTE, async (request, reply) => {
    const form = formFields(request, CSR_FIELDS)
    const sans = (form.sans ?? '').split(/[\s,]+/).filter(name => name !== '')
    const body: Record<string, unknown> = { sans, reuse_key: form.reuse_key === 'on' }
    if ((form.cn ?? '').trim() !== '') body.cn = (form.cn ?? '').trim()
    const answer = await context.apiAnswer(request, { method: 'POST', url: `${orgUrl(request.params.org)}/server-certs/csr`, body })
    if (answer.status >= 300) {
      const refusal = refusalOf(answer)
      if (answer.status === 401 || answer.status === 403) throw refusal
      return await page(request, reply, { refusal, csrForm: form }, answer.status)
    }
    return csrDownload(reply, request.params.org, answer.body)
  })

  app.get<CertParams>('/orgs/:org/server-certs/:id/csr', CONSOLE_ROUTE, async (request, reply) => {
    const { server_certificates: serverCerts } = await context.api(request, { method: 'GET', url: `${orgUrl(request.params.org)}/server-certs` })
    const record = (serverCerts as any[]).find(sc => sc.id === request.params.id && sc.csr !== null)
    if (record === undefined) throw new ApiRefusal(404, 'ADMIN_ERR_NOT_FOUND', `no CSR ${request.params.id} in ${request.params.org}`)
    return csrDownload(reply, request.params.org, record)
  })

  app.post<OrgParams>('/orgs/:org/server-certs', CONSOLE_ROUTE, async (request, reply) => {
    const form = formFields(request, UPLOAD_FIELDS)
    const key = either(form.key, form.key_pem)
    const body: Record<string, unknown> = { certificate: either(form.certificate, form.certificate_pem) }
    if (key !== '') body.key = key
    if ((form.passphrase ?? '') !== '') body.passphrase = form.passphrase
    // Nothing of the form goes back into the page: it may hold a key and its passphrase.
    return await act(request, reply, { method: 'POST', url: `${orgUrl(request.params.org)}/server-certs`, body })
  })

  app.post<CertParams>('/orgs/:org/server-certs/:id/activate', CONSOLE_ROUTE, async (request, reply) =>
    await act(request, reply, { method: 'POST', url: `${orgUrl(request.params.org)}/server-certs/${encodeURIComponent(request.params.id)}/activate` }))
}

function csrDownload (reply: FastifyReply, org: string, record: any): FastifyReply {
  const name = `${org}-${String(record.id)}`.replace(/[^A-Za-z0-9._-]/g, '_')
  return reply.type('application/pkcs10').header('content-disposition', `attachment; filename="${name}.csr"`).send(record.csr)
}

/** A chosen file's content, else the pasted text. */
function either (file: string | undefined, pasted: string | undefined): string {
  const chosen = (file ?? '').trim()
  return chosen !== '' ? chosen : (pasted ?? '').trim()
}

function orgUrl (org: string): string {
  return `/orgs/${encodeURIComponent(org)}`
}
