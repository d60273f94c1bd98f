import type { FastifyInstance } from 'fastify'
import { deviceTrustPemOf } from '../../ca-key-move.js'
import { resolveIssueRequest } from '../../issue-request.js'
import { findIssued, issueClientCert, issuedStateOf, listIssued, restoreCert, revokeCert } from '../../issuer.js'
import { managedCaOf, type OrgState } from '../../records.js'
import { ORG_ROUTE } from '../access.js'
import type { RouteContext, RoutePlugin } from '../admin-server.js'
import { caView, issuedView, serverCertView } from '../views.js'

const DAY_MS = 24 * 60 * 60 * 1000

export function certRoutes ({ registry, actorOf }: RouteContext): RoutePlugin {
  const caName = (state: OrgState): string => managedCaOf(state).subject.replace(/\n/g, ', ')

  return async (app: FastifyInstance) => {
    app.post<{ Params: { org: string }, Body: { cn?: string, csr?: string, days?: number, validity_days?: number } }>('/orgs/:org/certs', {
      ...ORG_ROUTE,
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          // validity_days: Cloudflare's name for days, so the seed's request body works here too.
          properties: { cn: { type: 'string', maxLength: 200 }, csr: { type: 'string', maxLength: 64 * 1024 }, days: { type: 'integer' }, validity_days: { type: 'integer' } }
        }
      }
    }, async (request, reply) => {
      const { org } = request.params
      const { cn, csr, days, validity_days: validityDays } = request.body
      if (days !== undefined && validityDays !== undefined && days !== validityDays) {
        throw Object.assign(new Error('days and validity_days disagree; give one of them'), { statusCode: 400 })
      }
      // Without a cn the CSR's subject CN is the identity (and must be a valid one).
      const issueRequest = resolveIssueRequest({ commonName: cn, csrPem: csr, days: days ?? validityDays })
      const issued = await issueClientCert(registry, org, issueRequest, actorOf(request))
      const state = registry.require(org)
      // ca_certificate: what the new certificate's holder trusts; private_key: the one response
      // that carries a key, generated for this caller and never stored.
      const body = { ...issuedView(issued.record, 'active', caName(state)), ca_certificate: deviceTrustPemOf(state) }
      return await reply.status(201).send(issued.keyPem === undefined ? body : { ...body, private_key: issued.keyPem })
    })

    app.get<{ Params: { org: string }, Querystring: { expiring?: string, all?: string } }>('/orgs/:org/certs', ORG_ROUTE, async request => {
      const state = registry.require(request.params.org)
      const window = request.query.expiring === undefined ? undefined : parseWindow(request.query.expiring)
      const now = Date.now()
      const expiring = (notAfter: string | undefined): boolean => window === undefined || (notAfter !== undefined && Date.parse(notAfter) - now <= window)
      const issued = await listIssued(registry, state.org.id, { all: request.query.all === 'true' })
      // With --expiring: the devices that have not renewed. One whose renewal is issued is on its way out (retirement.ts), not a concern.
      const replaced = new Set(issued.map(rec => rec.replaces).filter(id => id !== undefined))
      const certificates = issued
        .filter(rec => expiring(rec.expiresOn) && (window === undefined || (issuedStateOf(rec, state) === 'active' && !replaced.has(rec.id))))
        .map(rec => issuedView(rec, issuedStateOf(rec, state), caName(state)))
      if (window === undefined) return { certificates }
      return {
        certificates,
        cas: state.cas.filter(ca => expiring(ca.notAfter)).map(caView),
        server_certificates: state.serverCerts.filter(sc => sc.status === 'ready' && expiring(sc.notAfter)).map(sc => serverCertView(sc, state.org.activeServerCertId))
      }
    })

    app.get<{ Params: { org: string, ref: string } }>('/orgs/:org/certs/:ref', ORG_ROUTE, async request => {
      const rec = await findIssued(registry, request.params.org, request.params.ref)
      const state = registry.require(request.params.org)
      return issuedView(rec, issuedStateOf(rec, state), caName(state))
    })

    app.post<{ Params: { org: string, ref: string } }>('/orgs/:org/certs/:ref/revoke', ORG_ROUTE, async request => {
      const rec = await revokeCert(registry, request.params.org, request.params.ref, actorOf(request))
      return issuedView(rec, 'revoked', caName(registry.require(request.params.org)))
    })

    app.post<{ Params: { org: string, ref: string } }>('/orgs/:org/certs/:ref/restore', ORG_ROUTE, async request => {
      const rec = await restoreCert(registry, request.params.org, request.params.ref, actorOf(request))
      const state = registry.require(request.params.org)
      return issuedView(rec, issuedStateOf(rec, state), caName(state))
    })
  }
}

/** `30d`, `12h`: how far ahead `--expiring` looks. */
function parseWindow (text: string): number {
  const match = /^(\d{1,5})([dh])$/.exec(text)
  if (match === null) throw Object.assign(new Error('expiring must look like 30d or 12h'), { statusCode: 400 })
  return Number(match[1]) * (match[2] === 'd' ? DAY_MS : DAY_MS / 24)
}
