import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import { CertsError, type CertsErrorCode } from '../errors.js'

/** The HTTP status of each refusal, attached here at the edge (the PKI itself knows nothing of HTTP). */
const STATUS: Partial<Record<CertsErrorCode, number>> = {
  CERTS_ERR_ORG_NOT_FOUND: 404,
  CERTS_ERR_CA_NOT_FOUND: 404,
  CERTS_ERR_SERVER_CERT_NOT_FOUND: 404,
  CERTS_ERR_CERT_NOT_FOUND: 404,
  CERTS_ERR_ORG_EXISTS: 409,
  CERTS_ERR_CA_EXISTS: 409,
  CERTS_ERR_CA_IN_OTHER_ORG: 409,
  CERTS_ERR_SERVER_CERT_PENDING: 409,
  CERTS_ERR_CA_MANAGED: 409,
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

export interface ErrorBody {
  readonly error: { readonly code: string, readonly message: string }
}

export function errorBody (code: string, message: string): ErrorBody {
  return { error: { code, message } }
}

/** A refusal as it leaves the API, whatever envelope carries it. */
export interface Failure {
  readonly status: number
  readonly code: string
  readonly message: string
}

/**
 * PKI refusals keep their own code; fastify's (bad JSON, schema, size) become
 * ADMIN_ERR_*; anything unexpected is a 500 whose cause is logged, not returned.
 */
export function failureOf (err: FastifyError | CertsError, request: FastifyRequest, log: Logger): Failure {
  if (err instanceof CertsError) {
    const status = STATUS[err.code] ?? 400
    log.warn({ event: 'admin.refused', code: err.code, method: request.method, url: request.url, status }, err.message)
    return { status, code: err.code, message: err.message }
  }
  const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500
  if (status === 500) {
    log.error({ event: 'admin.error', err, method: request.method, url: request.url }, 'admin request failed')
    return { status, code: 'ADMIN_ERR_INTERNAL', message: 'the request failed; the gateway log has the cause' }
  }
  const code = status === 413 ? 'ADMIN_ERR_TOO_LARGE' : status === 415 ? 'ADMIN_ERR_MEDIA_TYPE' : 'ADMIN_ERR_BAD_REQUEST'
  return { status, code, message: err.message }
}

/** Every failure of the native routes leaves as `{"error":{"code","message"}}`. */
export function createErrorHandler (log: Logger) {
  return function handleError (err: FastifyError | CertsError, request: FastifyRequest, reply: FastifyReply): void {
    const failure = failureOf(err, request, log)
    void reply.status(failure.status).send(errorBody(failure.code, failure.message))
  }
}
