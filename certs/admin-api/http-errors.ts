import type { FastifyError, FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import { createErrorHandler as sharedErrorHandler, failureOf as sharedFailureOf, routerFailureOf as sharedRouterFailureOf, type ErrorMapping, type Failure } from '../../http/error-handler.js'
import { CertsError, type CertsErrorCode } from '../errors.js'
import { ADMIN_STATUS, AdminError, type AdminErrorCode } from './errors.js'

export { errorBody, pathOf, type ErrorBody, type Failure } from '../../http/error-handler.js'

/** The HTTP status of each refusal, attached here at the edge (the PKI itself knows nothing of HTTP). */
const STATUS: Partial<Record<CertsErrorCode | AdminErrorCode, number>> = {
  ...ADMIN_STATUS,
  CERTS_ERR_ORG_NOT_FOUND: 404,
  CERTS_ERR_CA_NOT_FOUND: 404,
  CERTS_ERR_SERVER_CERT_NOT_FOUND: 404,
  CERTS_ERR_CERT_NOT_FOUND: 404,
  CERTS_ERR_ORG_EXISTS: 409,
  CERTS_ERR_CA_EXISTS: 409,
  CERTS_ERR_CA_IN_OTHER_ORG: 409,
  CERTS_ERR_SERVER_CERT_PENDING: 409,
  CERTS_ERR_CA_MANAGED: 409,
  CERTS_ERR_CLAIM_NOT_FOUND: 404,
  CERTS_ERR_CLAIM_EXISTS: 409,
  CERTS_ERR_STORE: 503,
  // The registry's own state (a key sealed under a KEK this process lacks, an altered blob): not the caller's fault.
  CERTS_ERR_KEK_MISMATCH: 500,
  CERTS_ERR_KEY_BLOB_INVALID: 500,
  CERTS_ERR_HSM_KEY_IN_USE: 409,
  // The token is the gateway's dependency, like the store: the request was fine.
  CERTS_ERR_HSM_UNAVAILABLE: 503,
  CERTS_ERR_HSM_PIN: 503,
  CERTS_ERR_HSM_FAILED: 503
}

/** PKI refusals and the API's own (AdminError: 403s, operators) keep their code; fastify's (bad JSON, schema, size, content type) become ADMIN_ERR_*. */
const ADMIN_MAPPING: ErrorMapping<CertsErrorCode | AdminErrorCode, AdminErrorCode> = {
  isOwn: (err): err is CertsError | AdminError => err instanceof CertsError || err instanceof AdminError,
  status: STATUS,
  fastifyCodes: { badRequest: 'ADMIN_ERR_BAD_REQUEST', tooLarge: 'ADMIN_ERR_TOO_LARGE', mediaType: 'ADMIN_ERR_MEDIA_TYPE', internal: 'ADMIN_ERR_INTERNAL' },
  events: { refused: 'admin.refused', failed: 'admin.error' },
  failedMessage: 'admin request failed'
}

/** A failure of the admin API, for the routes that answer in another envelope (Cloudflare's). */
export function failureOf (err: FastifyError | Error, request: FastifyRequest, log: Logger): Failure {
  return sharedFailureOf(ADMIN_MAPPING, err, request, log)
}

/** Every failure of the native routes leaves as `{"error":{"code","message"}}`. */
export function createErrorHandler (log: Logger) {
  return sharedErrorHandler(ADMIN_MAPPING, log)
}

/** A refusal of fastify's router (a malformed URL), before any route or hook: framework-errors.ts answers it. */
export function routerFailureOf (err: FastifyError, request: FastifyRequest, log: Logger): Failure {
  return sharedRouterFailureOf(ADMIN_MAPPING, err, request, log)
}
