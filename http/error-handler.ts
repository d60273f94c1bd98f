/*
 * Why a top-level folder: the admin API (certs/) and the temps API (bridge/)
 * answer failures the same way, and the layering (design.md) lets bridge/
 * import certs/ but not the reverse. Inside certs/ this would make the bridge
 * lean on the PKI for an HTTP concern the PKI does not own; here, importing
 * nothing of mqgate's (fastify's and pino's types only), it sits below every
 * folder and each API imports it without bending the layering.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import type { Logger } from 'pino'

export interface ErrorBody {
  readonly error: { readonly code: string, readonly message: string }
}

export function errorBody (code: string, message: string): ErrorBody {
  return { error: { code, message } }
}

/**
 * The URL as log lines give it: the path, never the query string, which may
 * carry what a caller should have sent elsewhere (`GET /orgs?token=...`).
 */
export function pathOf (request: FastifyRequest): string {
  return request.url.split('?')[0]
}

/** A refusal as it leaves an API, whatever envelope carries it. */
export interface Failure {
  readonly status: number
  readonly code: string
  readonly message: string
}

/** An error carrying one of the API's stable codes (CertsError, BridgeError). */
export interface CodedError<C extends string> extends Error {
  readonly code: C
  /** Fields for the refusal's log line only: the caller may not learn them (another organisation's id). */
  readonly logFields?: Readonly<Record<string, unknown>>
}

/** What each API brings of its own: its error family, its codes, its log lines. */
export interface ErrorMapping<C extends string, F extends string> {
  /** Tells the API's own errors from the rest (an instanceof check). */
  readonly isOwn: (err: unknown) => err is CodedError<C>
  /** HTTP status of the API's codes; a code not listed is the caller's mistake: 400. */
  readonly status: Readonly<Partial<Record<C, number>>>
  /** The API's codes for fastify's own refusals (4xx) and for the unexpected (500). */
  readonly fastifyCodes: { readonly badRequest: F, readonly tooLarge: F, readonly mediaType: F, readonly internal: F }
  /** Said instead of fastify's "Request body is too large", to name the limit. */
  readonly tooLargeMessage?: string
  /** Event names of the two log lines: a refusal of the API's own (warn) and the unexpected (error). */
  readonly events: { readonly refused: string, readonly failed: string }
  /** The message of the `failed` line. */
  readonly failedMessage: string
}

const INTERNAL_MESSAGE = 'the request failed; the gateway log has the cause'

/**
 * The API's own refusal keeps its code, with the status of its table;
 * fastify's (bad JSON, schema, size, content type) keep their 4xx under the
 * API's codes; anything else is a 500 whose cause is logged, never returned.
 */
export function failureOf<C extends string, F extends string> (mapping: ErrorMapping<C, F>, err: FastifyError | Error, request: FastifyRequest, log: Logger): Failure {
  // The path only (pathOf), in every API's lines.
  const url = pathOf(request)
  if (mapping.isOwn(err)) {
    const status = mapping.status[err.code] ?? 400
    log.warn({ ...err.logFields, event: mapping.events.refused, code: err.code, method: request.method, url, status }, err.message)
    return { status, code: err.code, message: err.message }
  }
  const statusCode = (err as Partial<FastifyError>).statusCode
  const status = typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500 ? statusCode : 500
  const codes = mapping.fastifyCodes
  if (status === 500) {
    log.error({ event: mapping.events.failed, err, method: request.method, url }, mapping.failedMessage)
    return { status, code: codes.internal, message: INTERNAL_MESSAGE }
  }
  if (status === 413) return { status, code: codes.tooLarge, message: mapping.tooLargeMessage ?? err.message }
  return { status, code: status === 415 ? codes.mediaType : codes.badRequest, message: err.message }
}

/** fastify's error handler: every failure leaves as `{"error":{"code","message"}}`, or in `envelope`. */
export function createErrorHandler<C extends string, F extends string> (mapping: ErrorMapping<C, F>, log: Logger, envelope: (failure: Failure) => unknown = f => errorBody(f.code, f.message)) {
  return function handleError (err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
    const failure = failureOf(mapping, err, request, log)
    void reply.status(failure.status).send(envelope(failure))
  }
}

/** fastify's router refusals, in the API's words (its own echo the path, and name no fix). */
const ROUTER_MESSAGES: Readonly<Record<string, string>> = {
  FST_ERR_BAD_URL: 'the URL has a malformed percent-escape (a % not followed by two hex digits)',
  FST_ERR_MAX_PARAM_LENGTH: 'a part of the URL is too long'
}

/**
 * What fastify's router refuses before any route, hook or error handler runs
 * (fastify's `frameworkErrors`: FST_ERR_BAD_URL for `/orgs/%`): the API's code
 * as failureOf gives it, and a refusal line, which fastify's own answer had not.
 */
export function routerFailureOf<C extends string, F extends string> (mapping: ErrorMapping<C, F>, err: FastifyError, request: FastifyRequest, log: Logger): Failure {
  const failure = failureOf(mapping, err, request, log)
  if (failure.status >= 500) return failure
  const message = ROUTER_MESSAGES[err.code] ?? failure.message
  log.warn({ event: mapping.events.refused, code: failure.code, cause: err.code, method: request.method, url: pathOf(request), status: failure.status }, message)
  return { ...failure, message }
}

/** fastify's `frameworkErrors` option: its router's refusals leave like every other failure, as `{"error":{"code","message"}}`. */
export function createFrameworkErrorHandler<C extends string, F extends string> (mapping: ErrorMapping<C, F>, log: Logger) {
  return function handleFrameworkError (err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
    const failure = routerFailureOf(mapping, err, request, log)
    void reply.status(failure.status).send(errorBody(failure.code, failure.message))
  }
}
