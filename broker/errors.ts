import type { AccessErrorCode, Checked as AccessChecked } from '../access/index.js'

/**
 * Reasons the broker refuses something. Each is logged with its code; the
 * MQTT return code (CONNACK) is attached at the edge, in authenticate.ts.
 * The identity path's codes (TLS, client certificate, clientId, connection
 * limits) are access/errors.ts's, for every transport alike.
 *
 * MQTT CONNECT
 * BROKER_ERR_WILL_FORBIDDEN        the Will topic is one the identity may not publish to (CONNACK 5)
 * BROKER_ERR_LIMIT_ORG_CONNECTIONS the organisation has all the sessions its limit allows on this process
 *                                  (`mqgate org limits --connections`; CONNACK 3, server unavailable: retry later)
 *
 * Topics (PUBLISH refused → connection closed [MQTT-3.3.5-2]; SUBSCRIBE refused → granted QoS 128)
 * BROKER_ERR_TOPIC_OUTSIDE_SCHEME  not an iot-2/... topic of the identity's class
 * BROKER_ERR_TOPIC_LEVEL_INVALID   a topic level outside [A-Za-z0-9._-]{1,64}
 * BROKER_ERR_TOPIC_NOT_OWNED       another device's (or a non-represented device's) topic
 * BROKER_ERR_TOPIC_KIND_FORBIDDEN  events for applications, commands for devices, in the wrong direction
 *
 * Limits (the connection is closed; each logged, floods throttled)
 * BROKER_ERR_CONNECT_TIMEOUT           no CONNECT in time after the handshake
 * BROKER_ERR_KEEPALIVE_TIMEOUT         silent for 1.5 keepalive periods [MQTT-3.1.2-24]
 * BROKER_ERR_DRAIN_TIMEOUT             a subscriber that stopped reading
 * BROKER_ERR_PACKET_TOO_LARGE          a packet declaring more than MQGATE_MAX_PACKET_BYTES
 * BROKER_ERR_PACKET_MALFORMED          a Remaining Length longer than four bytes
 * BROKER_ERR_PROTOCOL                  anything else aedes or mqtt-packet refused before CONNECT completed
 * BROKER_ERR_LIMIT_INFLIGHT            too many QoS 2 publishes awaiting PUBREL
 * BROKER_ERR_LIMIT_SUBSCRIPTIONS       a filter past MQGATE_MAX_SUBSCRIPTIONS_PER_CLIENT (SUBACK 0x80)
 *
 * Limits that slow or trim instead of closing (logged once per client per 10 s)
 * BROKER_ERR_LIMIT_PUBLISH_RATE        a client over its publish rate: its socket is left unread until it is back under
 * BROKER_ERR_LIMIT_QUEUED_BYTES        a subscriber holding more than its bound unread: QoS 0 dropped, a persistent session's QoS 1 left in the store
 * BROKER_ERR_LIMIT_ORG_PUBLISH_RATE    the client's organisation is over its publish rate (`mqgate org limits --publish-rate`):
 *                                      its socket is left unread until the organisation is back under
 *
 * Readings
 * BROKER_ERR_READING_NOT_QUEUED    the reading log (Redis) failed: the publish is refused, not acknowledged
 *
 * Enrollment over MQTT (broker/enrollment/; answered on iot-2/enroll/result/fmt/json, the connection stays;
 * the refusals of who may enroll or renew keep enroll()'s and renew()'s CERTS_ERR_* codes, a certificate no
 * longer trusted the identity path's BROKER_ERR_* code, and a claim session's publish or subscribe outside
 * enrollment is refused with BROKER_ERR_CLAIM_ONLY_ENROLLS like any other topic refusal)
 * BROKER_ERR_ENROLL_CSR_TOO_LARGE  a CSR payload over 64 KiB
 * BROKER_ERR_ENROLL_FAILED         an unexpected failure (logged with its cause, never answered with it)
 */
export type BrokerErrorCode =
  | AccessErrorCode
  | 'BROKER_ERR_WILL_FORBIDDEN'
  | 'BROKER_ERR_TOPIC_OUTSIDE_SCHEME'
  | 'BROKER_ERR_TOPIC_LEVEL_INVALID'
  | 'BROKER_ERR_TOPIC_NOT_OWNED'
  | 'BROKER_ERR_TOPIC_KIND_FORBIDDEN'
  | 'BROKER_ERR_READING_NOT_QUEUED'
  | 'BROKER_ERR_CONNECT_TIMEOUT'
  | 'BROKER_ERR_KEEPALIVE_TIMEOUT'
  | 'BROKER_ERR_DRAIN_TIMEOUT'
  | 'BROKER_ERR_PACKET_TOO_LARGE'
  | 'BROKER_ERR_PACKET_MALFORMED'
  | 'BROKER_ERR_PROTOCOL'
  | 'BROKER_ERR_LIMIT_INFLIGHT'
  | 'BROKER_ERR_LIMIT_SUBSCRIPTIONS'
  | 'BROKER_ERR_LIMIT_PUBLISH_RATE'
  | 'BROKER_ERR_LIMIT_QUEUED_BYTES'
  | 'BROKER_ERR_LIMIT_ORG_CONNECTIONS'
  | 'BROKER_ERR_LIMIT_ORG_PUBLISH_RATE'
  | 'BROKER_ERR_ENROLL_CSR_TOO_LARGE'
  | 'BROKER_ERR_ENROLL_FAILED'

export class BrokerError extends Error {
  override readonly name = 'BrokerError'

  constructor (readonly code: BrokerErrorCode, message: string, options?: ErrorOptions) {
    super(message, options)
  }
}

/** MQTT 3.1.1 CONNACK return codes used by the broker (3.2.2.3). */
export const CONNACK = Object.freeze({ IDENTIFIER_REJECTED: 2, SERVER_UNAVAILABLE: 3, NOT_AUTHORIZED: 5 } as const)

/** The CONNACK return code a CONNECT refusal is answered with: 5 unless the code says otherwise. */
export function connackFor (code: BrokerErrorCode): 2 | 3 | 5 {
  if (code === 'BROKER_ERR_CLIENTID_MISMATCH') return CONNACK.IDENTIFIER_REJECTED
  if (code === 'BROKER_ERR_LIMIT_ORG_CONNECTIONS') return CONNACK.SERVER_UNAVAILABLE
  return CONNACK.NOT_AUTHORIZED
}

/** An authentication refusal as aedes expects it: an Error carrying the CONNACK return code. */
export class AuthError extends BrokerError {
  constructor (code: BrokerErrorCode, message: string, readonly returnCode: 2 | 3 | 5) {
    super(code, message)
  }
}

/** The outcome of a pure check: a value, or the code and reason of a refusal. */
export type Checked<T> = AccessChecked<T, BrokerErrorCode>

export { allowed, refused } from '../access/index.js'
