/**
 * Reasons the bridge and the temps API refuse something. A rejected reading is
 * counted, logged with its code and kept in the dead-letter list; the HTTP
 * status is attached at the edge (http/).
 *
 * Readings
 * BRIDGE_ERR_PAYLOAD_TOO_LARGE     more than 16 KiB
 * BRIDGE_ERR_PAYLOAD_NOT_JSON      not UTF-8 JSON
 * BRIDGE_ERR_PAYLOAD_NOT_OBJECT    JSON, but not an object
 * BRIDGE_ERR_TEMPERATURE_INVALID   temperature missing, not a finite number or a numeric string
 * BRIDGE_ERR_TIME_INVALID          time missing or not an ISO 8601 instant (date, time and offset)
 * Forwarding
 * BRIDGE_ERR_TEMPS_API_REFUSED     the temps API answered 4xx: dead-lettered with its answer, not retried
 * BRIDGE_ERR_TEMPS_API_UNAVAILABLE the temps API failed (5xx, network, timeout): retried with backoff
 * Redis
 * BRIDGE_ERR_LOG_LOST              the readings stream or its consumer groups vanished (Redis restarted empty, FLUSHALL): recreated, logged once
 * Shutdown
 * BRIDGE_ERR_CLOSED                work asked of a stage or reading log that is shutting down
 * Temps API (a caller the identity path refuses gets 403 with that path's own
 * code, BROKER_ERR_NO_CLIENT_CERT, BROKER_ERR_CERT_REVOKED, ...: access/errors.ts)
 * BRIDGE_ERR_API_FORBIDDEN         a certificate that may not use this route (403)
 * BRIDGE_ERR_API_NOT_FOUND         no such route or device (404)
 * BRIDGE_ERR_API_BAD_REQUEST       a malformed request (400)
 * BRIDGE_ERR_API_TOO_LARGE         a body over 16 KiB (413)
 * BRIDGE_ERR_API_INTERNAL          anything unexpected: the cause is logged, never returned (500)
 * EST (est-routes.ts; refusals of who may enroll keep the PKI's CERTS_ERR_* code)
 * BRIDGE_ERR_EST_UNAUTHORIZED      simpleenroll with neither a client certificate nor an HTTP Basic token (401)
 *
 * No code for a message on an unexpected topic: the bridge subscribes to
 * nothing, the broker appends to the reading log only what reading-sink.ts
 * `accepts` (the reading event and format), and a log entry carries no topic.
 */
export type BridgeErrorCode =
  | 'BRIDGE_ERR_PAYLOAD_TOO_LARGE'
  | 'BRIDGE_ERR_PAYLOAD_NOT_JSON'
  | 'BRIDGE_ERR_PAYLOAD_NOT_OBJECT'
  | 'BRIDGE_ERR_TEMPERATURE_INVALID'
  | 'BRIDGE_ERR_TIME_INVALID'
  | 'BRIDGE_ERR_TEMPS_API_REFUSED'
  | 'BRIDGE_ERR_TEMPS_API_UNAVAILABLE'
  | 'BRIDGE_ERR_LOG_LOST'
  | 'BRIDGE_ERR_CLOSED'
  | 'BRIDGE_ERR_API_FORBIDDEN'
  | 'BRIDGE_ERR_API_NOT_FOUND'
  | 'BRIDGE_ERR_API_BAD_REQUEST'
  | 'BRIDGE_ERR_API_TOO_LARGE'
  | 'BRIDGE_ERR_API_INTERNAL'
  | 'BRIDGE_ERR_EST_UNAUTHORIZED'

export class BridgeError extends Error {
  override readonly name = 'BridgeError'

  constructor (readonly code: BridgeErrorCode, message: string, options?: ErrorOptions) {
    super(message, options)
  }
}
