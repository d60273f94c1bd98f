import type { TLSSocket } from 'node:tls'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import type { AccessErrorCode, IdentityResolver, OrgContexts } from '../../access/index.js'
import {
  certsOnlyBase64, csrPemFromEstBody, deviceTrustPemOf, enroll, isCertsError, splitPemCertificates,
  type CertsErrorCode, type EnrollmentAuthorisation, type OrgRegistry
} from '../../certs/index.js'
import type { BridgeErrorCode } from '../errors.js'
import { errorBody } from './http-errors.js'

/**
 * EST (RFC 7030) enrollment on the temps API's HTTPS port, under
 * `/.well-known/est/` (3.2.2) of the organisation the SNI name picks. These
 * routes decide their own authorisation (temps-server.ts lets them past the
 * protected-host check, which /temps keeps): cacerts and csrattrs need none
 * (4.1.1, 4.5.1); simpleenroll takes a claim certificate (the TLS client
 * certificate, 3.3.2) or, from a client that sent none, a one-time token as
 * the HTTP Basic password (3.2.3; the user name is not checked).
 */

const CERTS_ONLY = 'application/pkcs7-mime; smime-type=certs-only'
const BASIC_CHALLENGE = 'Basic realm="mqgate EST", charset="UTF-8"'
/** A PKCS#10 of a 16384-bit RSA key is well under this. */
const CSR_BODY_LIMIT = 64 * 1024

export interface EstRouteDeps {
  readonly registry: OrgRegistry
  readonly resolver: IdentityResolver
  readonly contexts: OrgContexts
  readonly log: Logger
}

/**
 * An EST operation's path (RFC 7030 3.2.2: one lowercase word after the
 * prefix): no dot, slash or escape, so nothing that a router could resolve
 * to another route skips the temps API's own checks.
 */
export function isEstPath (url: string): boolean {
  return /^\/\.well-known\/est\/[a-z]+(?:\?|$)/.test(url)
}

export function estRoutes (deps: EstRouteDeps) {
  const log = deps.log.child({ component: 'est' })
  return async (app: FastifyInstance): Promise<void> => {
    // 4.1.2-4.1.3: the organisation's CA certificates, which the enrolled device then trusts (explicit TA database).
    app.get('/.well-known/est/cacerts', async (request, reply) => {
      const orgId = orgOfRequest(deps.contexts, request)
      if (orgId === undefined) return await refuse(reply, 404, 'BRIDGE_ERR_API_NOT_FOUND', 'no organisation answers at this name')
      return await sendBase64(reply, 'application/pkcs7-mime', certsOnlyBase64(splitPemCertificates(deviceTrustPemOf(deps.registry.require(orgId)))))
    })

    // 4.5.2: "no specific requirements" (204): the CN is the one attribute mqgate reads, and the key type is the device's choice.
    app.get('/.well-known/est/csrattrs', async (_request, reply) => await reply.status(204).send())

    app.post('/.well-known/est/simpleenroll', { bodyLimit: CSR_BODY_LIMIT }, async (request, reply) => {
      const who = authorisationOf(deps, request)
      if ('status' in who) {
        if (who.status === 401) void reply.header('www-authenticate', BASIC_CHALLENGE)
        log.warn({ event: 'est.refused', code: who.code, status: who.status, orgId: who.orgId, fingerprint: who.fingerprint }, who.message)
        return await refuse(reply, who.status, who.code, who.message)
      }
      const actor = who.authorisation.kind === 'claim' ? `est:c:${who.authorisation.claimName}` : 'est:token'
      try {
        const csrPem = csrPemFromEstBody(request.body as Buffer)
        const enrolled = await enroll(deps.registry, who.orgId, csrPem, who.authorisation, actor)
        log.info({ event: 'est.enrolled', orgId: who.orgId, via: who.authorisation.kind, commonName: enrolled.record.commonName, serial: enrolled.record.serial }, 'enrolled over EST')
        return await sendBase64(reply, CERTS_ONLY, certsOnlyBase64(enrolled.chainPems))
      } catch (err) {
        if (!isCertsError(err)) throw err
        const status = STATUS[err.code] ?? 400
        log.warn({ event: 'est.refused', code: err.code, status, orgId: who.orgId, via: who.authorisation.kind }, err.message)
        if (status === 401) void reply.header('www-authenticate', BASIC_CHALLENGE)
        return await refuse(reply, status, err.code, err.message)
      }
    })
  }
}

/**
 * RFC 7030 4.2.3: refusals are 4xx/5xx with a human-readable body; mqgate's is
 * its JSON error body with the stable code. A token that opens nothing is an
 * authentication failure (401, so a client may ask its user again), every
 * other refusal of who may enroll is 403.
 */
const STATUS: Partial<Record<CertsErrorCode, number>> = {
  CERTS_ERR_TOKEN_INVALID: 401,
  CERTS_ERR_TOKEN_USED: 401,
  CERTS_ERR_TOKEN_EXPIRED: 401,
  CERTS_ERR_TOKEN_CN_MISMATCH: 403,
  CERTS_ERR_CLAIM_NOT_FOUND: 403,
  CERTS_ERR_CLAIM_REVOKED: 403,
  CERTS_ERR_CLAIM_EXPIRED: 403,
  CERTS_ERR_CLAIM_EXHAUSTED: 403,
  CERTS_ERR_CLAIM_TYPE_NOT_ALLOWED: 403,
  CERTS_ERR_ENROLL_NOT_DEVICE: 403,
  CERTS_ERR_ALREADY_ENROLLED: 409,
  CERTS_ERR_IDENTITY_REVOKED: 403,
  CERTS_ERR_ORG_NOT_FOUND: 404,
  CERTS_ERR_STORE: 503,
  CERTS_ERR_HSM_UNAVAILABLE: 503,
  CERTS_ERR_HSM_PIN: 503,
  CERTS_ERR_HSM_FAILED: 503
}

type Authorised = { readonly orgId: string, readonly authorisation: EnrollmentAuthorisation }
type Unauthorised = { readonly status: 401 | 403 | 404, readonly code: AccessErrorCode | BridgeErrorCode, readonly message: string, readonly orgId?: string, readonly fingerprint?: string }

/** A client certificate must be a trusted claim certificate; without one, the Basic password is the token. */
function authorisationOf (deps: EstRouteDeps, request: FastifyRequest): Authorised | Unauthorised {
  const socket = request.raw.socket as TLSSocket
  const claimant = deps.resolver.claimant(socket, { host: request.hostname }, 'request')
  if (claimant.ok) return { orgId: claimant.value.orgId, authorisation: { kind: 'claim', claimName: claimant.value.claimName, fingerprint: claimant.value.fingerprint } }
  if (claimant.code !== 'BROKER_ERR_NO_CLIENT_CERT') {
    return { status: 403, code: claimant.code, message: 'only a trusted claim certificate of this organisation enrolls with a client certificate; the code says why this one was refused', orgId: claimant.orgId, fingerprint: claimant.fingerprint }
  }
  const token = basicPassword(request.headers.authorization)
  if (token === undefined) return { status: 401, code: 'BRIDGE_ERR_EST_UNAUTHORIZED', message: 'enroll with a claim certificate, or with an enrollment token as the HTTP Basic password' }
  const orgId = orgOfRequest(deps.contexts, request)
  if (orgId === undefined) return { status: 404, code: 'BRIDGE_ERR_API_NOT_FOUND', message: 'no organisation answers at this name' }
  return { orgId, authorisation: { kind: 'token', token } }
}

/** RFC 7617: `Basic base64(user:password)`; the password is everything after the first colon. */
function basicPassword (header: string | undefined): string | undefined {
  const match = /^Basic[ ]+([A-Za-z0-9+/=]+)$/i.exec(header ?? '')
  if (match === null) return undefined
  const decoded = Buffer.from(match[1], 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return colon === -1 || colon === decoded.length - 1 ? undefined : decoded.slice(colon + 1)
}

/** The SNI name's organisation (the Host header's for a resumed session that kept none). */
function orgOfRequest (contexts: OrgContexts, request: FastifyRequest): string | undefined {
  const servername = (request.raw.socket as TLSSocket).servername
  const org = contexts.orgForServername(typeof servername === 'string' && servername !== '' ? servername : request.hostname.replace(/:\d+$/, ''))
  return org.ok ? org.value : undefined
}

/** 4.1.3, 4.2.3: base64 bodies are labelled so (RFC 2045). */
async function sendBase64 (reply: FastifyReply, contentType: string, body: string): Promise<FastifyReply> {
  return await reply.header('content-type', contentType).header('content-transfer-encoding', 'base64').send(body)
}

async function refuse (reply: FastifyReply, status: number, code: string, message: string): Promise<FastifyReply> {
  return await reply.status(status).header('content-type', 'application/json; charset=utf-8').send(errorBody(code, message))
}
