import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import { BridgeError, type BridgeErrorCode } from '../errors.js'

const STATUS: Partial<Record<BridgeErrorCode, number>> = {
  BRIDGE_ERR_API_CLIENT_CERT_REQUIRED: 403,
  BRIDGE_ERR_API_FORBIDDEN: 403,
  BRIDGE_ERR_API_NOT_FOUND: 404,
  BRIDGE_ERR_API_TOO_LARGE: 413,
  BRIDGE_ERR_PAYLOAD_TOO_LARGE: 413
}

export function errorBody (code: string, message: string): { error: { code: string, message: string } } {
  return { error: { code, message } }
}

/**
 * Every failure leaves as JSON `{"error":{"code","message"}}`: a reading's
 * own refusal (400, with what is wrong), fastify's (bad body, size: 413),
 * never a stack trace; the unexpected is a 500 whose cause is logged only.
 */
export function createErrorHandler (log: Logger) {
  return function handleError (err: FastifyError | BridgeError, request: FastifyRequest, reply: FastifyReply): void {
    if (err instanceof BridgeError) {
      const status = STATUS[err.code] ?? 400
      log.warn({ event: 'api.refused', code: err.code, method: request.method, url: request.url.split('?')[0], status }, err.message)
      void reply.status(status).send(errorBody(err.code, err.message))
      return
    }
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500
    if (status === 500) {
      log.error({ event: 'api.error', err, method: request.method, url: request.url.split('?')[0] }, 'temps API request failed')
      void reply.status(500).send(errorBody('BRIDGE_ERR_API_INTERNAL', 'the request failed; the gateway log has the cause'))
      return
    }
    const code = status === 413 ? 'BRIDGE_ERR_API_TOO_LARGE' : 'BRIDGE_ERR_API_BAD_REQUEST'
    void reply.status(status).send(errorBody(code, status === 413 ? 'the body is larger than 16 KiB' : err.message))
  }
}
