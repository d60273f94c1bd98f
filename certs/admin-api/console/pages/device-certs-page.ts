import type { FastifyReply, FastifyRequest } from 'fastify'
import { toPkcs12 } from '../../../pkcs12.js'
import { CONSOLE_ROUTE } from '../../access.js'
import { formFields, queryFields } from '../form-fields.js'
import { ApiRefusal, refusalOf } from '../page-context.js'
import type { ConsolePage } from './index.js'

type OrgParams = { Params: { org: string } }
type CertParams = { Params: { org: string, id: string } }
/**
 * The issue form. `csr` is a chosen file (console.js reads it), `csr_pem` a pasted one; without
 * either the API generates the key, which goes back to the browser once, as `key_format`.
 */
const ISSUE_FIELDS = ['cn', 'days', 'csr', 'csr_pem', 'key_format', 'password'] as const
const KEY_FORMATS = ['pem', 'p12'] as const

/** How far ahead "expiring soon" looks, as `mqgate cert list --expiring 30d`. */
export const EXPIRING_WINDOWS = ['7d', '30d', '90d'] as const

/**
 * An organisation's device certificates: issue (from a CSR, or with a key the
 * API generates, handed to the browser once as a download), the list with a
 * search by identity, serial or fingerprint and an "expiring soon" filter,
 * revoke and restore. Every action is the admin API's route (certs.ts).
 */
export const deviceCertsPage: ConsolePage = ({ app, context }) => {
  const listUrl = (org: string): string => `/console/orgs/${encodeURIComponent(org)}/device-certs`
  const page = async (request: FastifyRequest<OrgParams>, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200): Promise<FastifyReply> => {
    const org = await context.api(request, { method: 'GET', url: orgUrl(request.params.org) })
    // A POST's page (a refusal) shows the whole list: its query is empty.
    const query = queryFields(request, ['q', 'expiring'])
    const expiring = EXPIRING_WINDOWS.find(w => w === query.expiring)
    const { certificates } = await context.api(request, { method: 'GET', url: `${orgUrl(request.params.org)}/certs${expiring === undefined ? '' : `?expiring=${expiring}`}` })
    const q = (query.q ?? '').trim()
    const connected = await connectedFingerprints(request)
    return await context.render(request, reply, 'device-certs', {
      title: `Device certificates of ${org.id as string}`, org, certificates: (certificates as any[]).filter(matches(q)), q, expiring, windows: EXPIRING_WINDOWS, connected, ...extra
    }, status)
  }

  /** The certificates live sessions connected with (GET /orgs/:org/sessions); undefined where the admin API runs without a broker. */
  const connectedFingerprints = async (request: FastifyRequest<OrgParams>): Promise<ReadonlySet<string> | undefined> => {
    const answer = await context.apiAnswer(request, { method: 'GET', url: `${orgUrl(request.params.org)}/sessions` })
    if (answer.status !== 200) return undefined
    return new Set((answer.body?.sessions as Array<{ fingerprint: string }> ?? []).map(row => row.fingerprint))
  }

  app.get<OrgParams>('/orgs/:org/device-certs', CONSOLE_ROUTE, async (request, reply) => await page(request, reply))

  app.post<OrgParams>('/orgs/:org/device-certs', CONSOLE_ROUTE, async (request, reply) => {
    // Every field is read and checked here, before issuing: a certificate whose generated key could not be handed over would be lost.
    const form = formFields(request, ISSUE_FIELDS)
    const csr = (form.csr ?? '').trim() !== '' ? (form.csr ?? '').trim() : (form.csr_pem ?? '').trim()
    const keyFormat = KEY_FORMATS.find(format => format === (form.key_format === undefined || form.key_format === '' ? 'pem' : form.key_format))
    const shown = { cn: form.cn, days: form.days, key_format: keyFormat ?? 'pem' }
    const refuse = async (refusal: ApiRefusal): Promise<FastifyReply> => {
      if (refusal.status === 401 || refusal.status === 403) throw refusal
      return await page(request, reply, { refusal, form: shown }, refusal.status)
    }
    if (keyFormat === undefined) return await refuse(new ApiRefusal(400, 'ADMIN_ERR_BAD_REQUEST', 'the key format is pem or p12'))
    if (csr === '' && keyFormat === 'p12' && (form.password ?? '') === '') {
      return await refuse(new ApiRefusal(400, 'ADMIN_ERR_BAD_REQUEST', 'a PKCS#12 bundle needs a password (as `cert issue --p12` needs --password)'))
    }
    const body: Record<string, unknown> = {}
    if ((form.cn ?? '').trim() !== '') body.cn = (form.cn ?? '').trim()
    if (csr !== '') body.csr = csr
    if ((form.days ?? '').trim() !== '') body.days = Number(form.days)
    const answer = await context.apiAnswer(request, { method: 'POST', url: `${orgUrl(request.params.org)}/certs`, body })
    if (answer.status >= 300) return await refuse(refusalOf(answer))
    const issued = answer.body
    if (issued.private_key === undefined) return context.redirect(reply, `${listUrl(request.params.org)}?q=${encodeURIComponent(issued.serial_number as string)}`)
    return handOver(reply, issued, keyFormat, form.password ?? '')
  })

  for (const action of ['revoke', 'restore'] as const) {
    app.post<CertParams>(`/orgs/:org/device-certs/:id/${action}`, CONSOLE_ROUTE, async (request, reply) => {
      const answer = await context.apiAnswer(request, { method: 'POST', url: `${orgUrl(request.params.org)}/certs/${encodeURIComponent(request.params.id)}/${action}` })
      if (answer.status < 300) return context.redirect(reply, listUrl(request.params.org))
      const refusal = refusalOf(answer)
      if (refusal.status === 401 || refusal.status === 403) throw refusal
      return await page(request, reply, { refusal }, refusal.status)
    })
  }
}

/**
 * The generated key's one way out: this answer, as an attachment (never a page that shows it,
 * never kept: the API does not store it and the console holds it only while answering).
 * PEM: the certificate, the CA and the key, as `cert issue` prints them; PKCS#12: as `cert issue --p12` writes it.
 */
function handOver (reply: FastifyReply, issued: any, keyFormat: 'pem' | 'p12', password: string): FastifyReply {
  const name = String(issued.common_name).replace(/[^A-Za-z0-9._-]/g, '_')
  if (keyFormat === 'p12') {
    const bundle = toPkcs12(issued.private_key, issued.certificate, issued.ca_certificate, password, issued.common_name)
    return reply.type('application/x-pkcs12').header('content-disposition', `attachment; filename="${name}.p12"`).send(bundle)
  }
  const pem = String(issued.certificate) + String(issued.ca_certificate) + String(issued.private_key)
  return reply.type('application/x-pem-file').header('content-disposition', `attachment; filename="${name}.pem"`).send(pem)
}

/** Search by identity (part of the CN), serial or SHA-256 fingerprint (case and colons ignored). */
function matches (q: string): (cert: any) => boolean {
  if (q === '') return () => true
  const hex = q.replace(/:/g, '').toLowerCase()
  return cert => String(cert.common_name).toLowerCase().includes(q.toLowerCase()) ||
    String(cert.serial_number).toLowerCase() === hex || String(cert.fingerprint_sha256).toLowerCase() === hex
}

function orgUrl (org: string): string {
  return `/orgs/${encodeURIComponent(org)}`
}
