import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import { AccessError } from '../../access/index.js'
import { createErrorHandler as sharedErrorHandler, createFrameworkErrorHandler, errorBody, pathOf, type ErrorMapping } from '../../http/error-handler.js'
import { BridgeError, type BridgeErrorCode } from '../errors.js'
import { hostOf } from './caller.js'

export { errorBody } from '../../http/error-handler.js'

/** The HTTP status of the bridge's codes, attached here at the edge; any other (a reading's refusal) is a 400. */
const STATUS: Partial<Record<BridgeErrorCode, number>> = {
  BRIDGE_ERR_API_FORBIDDEN: 403,
  BRIDGE_ERR_API_NOT_FOUND: 404,
  BRIDGE_ERR_API_TOO_LARGE: 413,
  BRIDGE_ERR_PAYLOAD_TOO_LARGE: 413
}

/**
 * A reading's own refusal keeps its code (400, with what is wrong); fastify's
 * become BRIDGE_ERR_API_*. The temps API reads every content type itself
 * (temps-server.ts), so it has no code of its own for a 415. Its log lines
 * leave the query string out.
 */
const BRIDGE_MAPPING: ErrorMapping<BridgeErrorCode, BridgeErrorCode> = {
  isOwn: (err): err is BridgeError => err instanceof BridgeError,
  status: STATUS,
  fastifyCodes: { badRequest: 'BRIDGE_ERR_API_BAD_REQUEST', tooLarge: 'BRIDGE_ERR_API_TOO_LARGE', mediaType: 'BRIDGE_ERR_API_BAD_REQUEST', internal: 'BRIDGE_ERR_API_INTERNAL' },
  tooLargeMessage: 'the body is larger than 16 KiB',
  events: { refused: 'api.refused', failed: 'api.error' },
  failedMessage: 'temps API request failed'
}

/**
 * Every failure of the temps API leaves as `{"error":{"code","message"}}`,
 * never a stack trace. A caller the identity path refuses gets 403 with that
 * path's code and a fixed message: the reason, which may name CAs or say
 * whether an organisation exists, goes to the log with the certificate's fields.
 */
export function createErrorHandler (log: Logger) {
  const handleError = sharedErrorHandler(BRIDGE_MAPPING, log)
  return function handleTempsError (err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
    if (!(err instanceof AccessError)) return handleError(err, request, reply)
    log.warn({ event: 'api.refused', ...err.details, code: err.code, status: 403, host: hostOf(request), method: request.method, url: pathOf(request) }, err.message)
    void reply.status(403).send(errorBody(err.code, 'a trusted client certificate of this organisation is required; the code says why it was refused'))
  }
}

/** fastify's `frameworkErrors`: a URL its router refuses (a malformed percent-escape) answers BRIDGE_ERR_API_BAD_REQUEST, logged. */
export function createRouterErrorHandler (log: Logger) {
  return createFrameworkErrorHandler(BRIDGE_MAPPING, log)
}
