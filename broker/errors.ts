/**
 * Reasons the broker refuses something. Each is logged with its code; the
 * MQTT return code (CONNACK) is attached at the edge, in authenticate.ts.
 *
 * TLS handshake (the connection is closed without an MQTT answer)
 * BROKER_ERR_TLS_NO_SNI            no SNI (or a name outside <org>.messaging.<domain>) and no default organisation
 * BROKER_ERR_TLS_UNKNOWN_ORG       SNI names an organisation that does not exist
 * BROKER_ERR_TLS_HANDSHAKE         any other handshake failure
 *
 * Client certificate: checked right after the handshake (connection closed)
 * and again at every CONNECT (CONNACK 5), since a resumed TLS session skips
 * the first check
 * BROKER_ERR_NO_CLIENT_CERT        no client certificate was presented
 * BROKER_ERR_CERT_UNTRUSTED        its chain does not lead to an active CA of the organisation
 * BROKER_ERR_CHAIN_TOO_DEEP        it leads there through more certificates than MQGATE_MAX_CHAIN_DEPTH allows
 * BROKER_ERR_CRL_EXPIRED           a CA on its path has CRL policy `closed` and a loaded CRL past its nextUpdate
 * BROKER_ERR_CERT_EXPIRED          notAfter has passed
 * BROKER_ERR_CERT_NOT_YET_VALID    notBefore is still ahead
 * BROKER_ERR_CERT_PURPOSE          the TLS stack refused its key usage for client authentication
 * BROKER_ERR_CERT_REVOKED          revoked by an operator (`cert revoke`) or listed in its CA's CRL;
 *                                  a live session is closed when this becomes true
 * BROKER_ERR_CERT_IS_CA            a CA certificate presented as a client certificate
 * BROKER_ERR_CERT_NO_CLIENT_AUTH   extendedKeyUsage present without clientAuth
 * BROKER_ERR_CERT_UNPARSABLE       the presented certificate could not be decoded
 * BROKER_ERR_CN_MISSING            neither a CN nor a SAN email names the identity
 * BROKER_ERR_CN_REPEATED           several CNs (or several SAN emails and no CN)
 * BROKER_ERR_CN_MULTI_VALUED_RDN   a subject RDN holding several attributes
 * BROKER_ERR_CN_MALFORMED          the CN is not d:<type>:<id>, g:<type>:<id> or a:<app> with names of [A-Za-z0-9._-]{1,64}
 * BROKER_ERR_NO_IDENTITY           the connection did not come through the TLS gate (never expected)
 *
 * MQTT CONNECT
 * BROKER_ERR_CLIENTID_MISMATCH     the clientId is not the one the certificate's identity owns (CONNACK 2)
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
 * BROKER_ERR_TLS_HANDSHAKE_TIMEOUT     the TLS handshake did not finish in time
 * BROKER_ERR_CONNECT_TIMEOUT           no CONNECT in time after the handshake
 * BROKER_ERR_KEEPALIVE_TIMEOUT         silent for 1.5 keepalive periods [MQTT-3.1.2-24]
 * BROKER_ERR_DRAIN_TIMEOUT             a subscriber that stopped reading
 * BROKER_ERR_PACKET_TOO_LARGE          a packet declaring more than MQGATE_MAX_PACKET_BYTES
 * BROKER_ERR_PACKET_MALFORMED          a Remaining Length longer than four bytes
 * BROKER_ERR_PROTOCOL                  anything else aedes or mqtt-packet refused before CONNECT completed
 * BROKER_ERR_LIMIT_CONNECTIONS_PER_IP  too many open connections from one address
 * BROKER_ERR_LIMIT_CONNECTIONS_TOTAL   too many open connections
 * BROKER_ERR_LIMIT_CONNECTION_RATE     new connections from one address too fast
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
 */
export type BrokerErrorCode =
  | 'BROKER_ERR_TLS_NO_SNI'
  | 'BROKER_ERR_TLS_UNKNOWN_ORG'
  | 'BROKER_ERR_TLS_HANDSHAKE'
  | 'BROKER_ERR_NO_CLIENT_CERT'
  | 'BROKER_ERR_CERT_UNTRUSTED'
  | 'BROKER_ERR_CHAIN_TOO_DEEP'
  | 'BROKER_ERR_CRL_EXPIRED'
  | 'BROKER_ERR_CERT_EXPIRED'
  | 'BROKER_ERR_CERT_NOT_YET_VALID'
  | 'BROKER_ERR_CERT_PURPOSE'
  | 'BROKER_ERR_CERT_REVOKED'
  | 'BROKER_ERR_CERT_IS_CA'
  | 'BROKER_ERR_CERT_NO_CLIENT_AUTH'
  | 'BROKER_ERR_CERT_UNPARSABLE'
  | 'BROKER_ERR_CN_MISSING'
  | 'BROKER_ERR_CN_REPEATED'
  | 'BROKER_ERR_CN_MULTI_VALUED_RDN'
  | 'BROKER_ERR_CN_MALFORMED'
  | 'BROKER_ERR_NO_IDENTITY'
  | 'BROKER_ERR_CLIENTID_MISMATCH'
  | 'BROKER_ERR_WILL_FORBIDDEN'
  | 'BROKER_ERR_TOPIC_OUTSIDE_SCHEME'
  | 'BROKER_ERR_TOPIC_LEVEL_INVALID'
  | 'BROKER_ERR_TOPIC_NOT_OWNED'
  | 'BROKER_ERR_TOPIC_KIND_FORBIDDEN'
  | 'BROKER_ERR_READING_NOT_QUEUED'
  | 'BROKER_ERR_TLS_HANDSHAKE_TIMEOUT'
  | 'BROKER_ERR_CONNECT_TIMEOUT'
  | 'BROKER_ERR_KEEPALIVE_TIMEOUT'
  | 'BROKER_ERR_DRAIN_TIMEOUT'
  | 'BROKER_ERR_PACKET_TOO_LARGE'
  | 'BROKER_ERR_PACKET_MALFORMED'
  | 'BROKER_ERR_PROTOCOL'
  | 'BROKER_ERR_LIMIT_CONNECTIONS_PER_IP'
  | 'BROKER_ERR_LIMIT_CONNECTIONS_TOTAL'
  | 'BROKER_ERR_LIMIT_CONNECTION_RATE'
  | 'BROKER_ERR_LIMIT_INFLIGHT'
  | 'BROKER_ERR_LIMIT_SUBSCRIPTIONS'
  | 'BROKER_ERR_LIMIT_PUBLISH_RATE'
  | 'BROKER_ERR_LIMIT_QUEUED_BYTES'
  | 'BROKER_ERR_LIMIT_ORG_CONNECTIONS'
  | 'BROKER_ERR_LIMIT_ORG_PUBLISH_RATE'

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
export type Checked<T> = { readonly ok: true, readonly value: T } | { readonly ok: false, readonly code: BrokerErrorCode, readonly reason: string }

export function allowed<T> (value: T): Checked<T> {
  return { ok: true, value }
}

export function refused<T = never> (code: BrokerErrorCode, reason: string): Checked<T> {
  return { ok: false, code, reason }
}
