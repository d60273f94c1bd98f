import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import type { Principal } from '../../access/index.js'
import { certsOnlyBase64, csrPemFromEstBody, isCertsError, renew, renewableRecordOf, type CertsErrorCode, type OrgRegistry } from '../../certs/index.js'
import { errorBody } from './http-errors.js'

export interface EstReenrollDeps {
  readonly registry: OrgRegistry
  /** The caller's principal; throws the identity path's refusal (403 with its code). */
  readonly callerOf: (request: FastifyRequest) => Principal
  readonly log: Logger
}

/** RFC 7030 4.2.3: a refusal is a 4xx (the request) or 5xx (the server); mqgate's JSON body carries the code. */
const STATUS: Partial<Record<CertsErrorCode, number>> = {
  CERTS_ERR_RENEW_NOT_ISSUED: 403,
  CERTS_ERR_RENEW_REVOKED: 403,
  CERTS_ERR_RENEW_EXPIRED: 403,
  CERTS_ERR_RENEW_TOO_EARLY: 403,
  CERTS_ERR_RENEW_ALREADY_REPLACED: 409,
  CERTS_ERR_RENEW_IN_PROGRESS: 409,
  CERTS_ERR_RENEW_RETRIES_EXHAUSTED: 409,
  CERTS_ERR_STORE: 503,
  CERTS_ERR_HSM_UNAVAILABLE: 503,
  CERTS_ERR_HSM_PIN: 503,
  CERTS_ERR_HSM_FAILED: 503
}

const CERTS_ONLY = 'application/pkcs7-mime; smime-type=certs-only'

/**
 * `POST /.well-known/est/simplereenroll` (RFC 7030 4.2.2) on the temps API's
 * HTTPS port, where the SNI name picks the organisation: the client
 * certificate is the one renewed (verified by the identity path, which
 * refuses an untrusted, expired or revoked one with its own code before this
 * route runs), the body a base64 PKCS#10 with the same subject. The answer is
 * base64 CMS certs-only "containing only the certificate that was issued"
 * (4.2.3): the CA chain is what `/cacerts` answers (4.1.3).
 */
export function estReenrollRoute (deps: EstReenrollDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    // Encapsulated to this plugin: the PKI's refusals get their status here; everything else goes to the temps API's handler.
    app.setErrorHandler((err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) => {
      if (!isCertsError(err)) throw err
      const status = STATUS[err.code] ?? (err.code === 'CERTS_ERR_KEK_MISMATCH' || err.code === 'CERTS_ERR_KEY_BLOB_INVALID' ? 500 : 400)
      deps.log.warn({ event: 'est.refused', code: err.code, status, route: 'simplereenroll' }, err.message)
      void reply.status(status).send(errorBody(err.code, err.message))
    })

    app.post('/.well-known/est/simplereenroll', async (request, reply) => {
      const caller = deps.callerOf(request)
      const current = await renewableRecordOf(deps.registry, caller.orgId, caller.fingerprint)
      const csrPem = csrPemFromEstBody(Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0))
      const { record } = await renew(deps.registry, caller.orgId, current, csrPem, `est:${caller.identity.commonName}`)
      deps.log.info({ event: 'est.reenrolled', orgId: caller.orgId, certId: record.id, replaces: current.id, serial: record.serial, expiresOn: record.expiresOn }, 'certificate renewed')
      return await reply
        .status(200)
        .header('content-type', CERTS_ONLY)
        .header('content-transfer-encoding', 'base64')
        .send(certsOnlyBase64([record.certPem]))
    })
  }
}
