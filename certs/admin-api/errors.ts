import type { Failure } from '../../http/error-handler.js'

/**
 * The admin API's own refusals, beside the PKI's (CertsErrorCode): what the
 * HTTP layer itself refuses. Callers, the CLI and operators' scripts branch on
 * the code, never on the message; ADMIN_STATUS attaches the HTTP status here,
 * at the edge.
 *
 * Answered by the API
 * ADMIN_ERR_UNAUTHORIZED    no bearer token, or the wrong one, or a revoked or rotated operator's (401)
 * ADMIN_ERR_FORBIDDEN_ORG   the operator's organisations do not include the route's (403)
 * ADMIN_ERR_FORBIDDEN_ROLE  the operator's role may not do that: a viewer's change, an org-admin's global route (403)
 * ADMIN_ERR_FETCH_NEEDS_ALLOW_LIST an org-admin's CRL source or `ca ocsp on` while MQGATE_CRL_FETCH_ALLOW is unset: the gateway would fetch from anywhere (403)
 * ADMIN_ERR_OPERATOR_EXISTS an operator of that name is active already (409)
 * ADMIN_ERR_OPERATOR_NOT_FOUND no active operator of that name (404)
 * ADMIN_ERR_OPERATOR_INVALID a name, role or organisation list an operator cannot have (400)
 * ADMIN_ERR_PASSWORD_WEAK   a password outside the policy: under 12 or over 1024 characters (400)
 * ADMIN_ERR_PASSWORD_BUSY   2 password hashes or checks running and 8 waiting in this process: a console sign-in by password, a password change (503)
 * ADMIN_ERR_BOOTSTRAP_NO_PASSWORD the bootstrap token asked for its own password: it has no operator record to keep one (403)
 * ADMIN_ERR_PASSWORD_MISMATCH the console's account form: the password and its confirmation differ (400; the console's own check)
 * ADMIN_ERR_SESSION_NOT_FOUND no live MQTT session of that clientId in the organisation (404)
 * ADMIN_ERR_SESSIONS_UNAVAILABLE this admin API runs without a broker to ask (503)
 * ADMIN_ERR_CSRF            a console change without its session's CSRF token, or a sign-in form from elsewhere (403)
 * ADMIN_ERR_SIGN_IN_BUSY    a console sign-in while 4 others of the same address are still being answered (429)
 * ADMIN_ERR_SIGN_IN_RATE    a console sign-in after 30 successful ones of the same address within a minute (429)
 * ADMIN_ERR_NOT_FOUND       no such route (404)
 * ADMIN_ERR_BAD_REQUEST     a malformed request: bad JSON, a body or query outside the route's schema (400; another 4xx of fastify's keeps its status)
 * ADMIN_ERR_TOO_LARGE       a body over the 1 MiB limit, or a console sign-in's over 16 KiB, the account page's password form over 32 KiB (413)
 * ADMIN_ERR_MEDIA_TYPE      a body in a content type the route does not read (415)
 * ADMIN_ERR_INTERNAL        anything unexpected: the cause is logged, never returned (500)
 */
export type AdminErrorCode =
  | 'ADMIN_ERR_UNAUTHORIZED'
  | 'ADMIN_ERR_FORBIDDEN_ORG'
  | 'ADMIN_ERR_FORBIDDEN_ROLE'
  | 'ADMIN_ERR_FETCH_NEEDS_ALLOW_LIST'
  | 'ADMIN_ERR_OPERATOR_EXISTS'
  | 'ADMIN_ERR_OPERATOR_NOT_FOUND'
  | 'ADMIN_ERR_OPERATOR_INVALID'
  | 'ADMIN_ERR_PASSWORD_WEAK'
  | 'ADMIN_ERR_PASSWORD_BUSY'
  | 'ADMIN_ERR_BOOTSTRAP_NO_PASSWORD'
  | 'ADMIN_ERR_PASSWORD_MISMATCH'
  | 'ADMIN_ERR_SESSION_NOT_FOUND'
  | 'ADMIN_ERR_SESSIONS_UNAVAILABLE'
  | 'ADMIN_ERR_CSRF'
  | 'ADMIN_ERR_SIGN_IN_BUSY'
  | 'ADMIN_ERR_SIGN_IN_RATE'
  | 'ADMIN_ERR_NOT_FOUND'
  | 'ADMIN_ERR_BAD_REQUEST'
  | 'ADMIN_ERR_TOO_LARGE'
  | 'ADMIN_ERR_MEDIA_TYPE'
  | 'ADMIN_ERR_INTERNAL'

/** A full record, not a partial one: a new code does not compile until it has its status. */
export const ADMIN_STATUS: Readonly<Record<AdminErrorCode, number>> = Object.freeze({
  ADMIN_ERR_UNAUTHORIZED: 401,
  ADMIN_ERR_FORBIDDEN_ORG: 403,
  ADMIN_ERR_FORBIDDEN_ROLE: 403,
  ADMIN_ERR_FETCH_NEEDS_ALLOW_LIST: 403,
  ADMIN_ERR_OPERATOR_EXISTS: 409,
  ADMIN_ERR_OPERATOR_NOT_FOUND: 404,
  ADMIN_ERR_OPERATOR_INVALID: 400,
  ADMIN_ERR_PASSWORD_WEAK: 400,
  ADMIN_ERR_PASSWORD_BUSY: 503,
  ADMIN_ERR_BOOTSTRAP_NO_PASSWORD: 403,
  ADMIN_ERR_PASSWORD_MISMATCH: 400,
  ADMIN_ERR_SESSION_NOT_FOUND: 404,
  ADMIN_ERR_SESSIONS_UNAVAILABLE: 503,
  ADMIN_ERR_CSRF: 403,
  ADMIN_ERR_SIGN_IN_BUSY: 429,
  ADMIN_ERR_SIGN_IN_RATE: 429,
  ADMIN_ERR_NOT_FOUND: 404,
  ADMIN_ERR_BAD_REQUEST: 400,
  ADMIN_ERR_TOO_LARGE: 413,
  ADMIN_ERR_MEDIA_TYPE: 415,
  ADMIN_ERR_INTERNAL: 500
})

/**
 * The CLI's own codes, when no answer of the API's came back (AdminApiError
 * with status 0, or a non-JSON answer); they never travel over HTTP.
 *
 * ADMIN_ERR_CA_UNREADABLE   the CA file named by --ca or MQGATE_ADMIN_CA cannot be read
 * ADMIN_ERR_UNREACHABLE     the admin API cannot be reached (connection, TLS, timeout)
 * ADMIN_ERR_HTTP            an answer without mqgate's error body (a proxy's page, say): its status only
 */
export type AdminClientErrorCode =
  | 'ADMIN_ERR_CA_UNREADABLE'
  | 'ADMIN_ERR_UNREACHABLE'
  | 'ADMIN_ERR_HTTP'

/** A refusal of the admin API's own, thrown by its hooks and routes; the error handler attaches ADMIN_STATUS. */
export class AdminError extends Error {
  override readonly name = 'AdminError'
  constructor (readonly code: AdminErrorCode, message: string) {
    super(message)
  }
}

/** One of the API's own refusals with its status, for the answers sent outside the error handler (401, 404). */
export function adminFailure (code: AdminErrorCode, message: string): Failure {
  return { status: ADMIN_STATUS[code], code, message }
}
