import type tls from 'node:tls'

/** The broker's slice of the process configuration (read from the environment in config/). */
export interface BrokerConfig {
  /** MQGATE_MQTT_HOST: address to bind; all interfaces by default. */
  readonly host?: string
  /** MQGATE_MQTT_PORT: the MQTT-over-TLS port (8883, IANA "secure-mqtt"); 0 picks a free one. */
  readonly port: number
  /**
   * MQGATE_WS_PORT: MQTT over secure WebSocket, `wss://<org>.messaging.<domain>:<port>/mqtt`
   * (8084 as in EMQX); 0 turns it off. Bound on the MQTT host.
   */
  readonly wsPort: number
  /** MQGATE_DOMAIN: organisations are reached as `<org>.messaging.<domain>`. */
  readonly domain: string
  /** MQGATE_DEFAULT_ORG: the organisation of clients without a usable SNI name; none by default. */
  readonly defaultOrg?: string
  /** REDIS_URL: sessions and routing in Redis, shared by every broker process; in memory without it. */
  readonly redisUrl?: string
  /** TLS 1.2 at least (1.3 is negotiated when the client offers it). */
  readonly minTlsVersion: tls.SecureVersion
  /**
   * MQGATE_MAX_CHAIN_DEPTH: the most certificates from the device's own up to
   * (not counting) the organisation's CA that trusts it; 4 (three intermediates)
   * by default. A longer chain is refused with BROKER_ERR_CHAIN_TOO_DEEP.
   */
  readonly maxChainDepth: number
  readonly limits: BrokerLimits
}

/** What one client may take; each refusal is logged with a BROKER_ERR_LIMIT_* / *_TIMEOUT code. */
export interface BrokerLimits {
  /** MQGATE_TLS_HANDSHAKE_TIMEOUT_MS: a TLS handshake must finish within this (Node's default is 120 s). */
  readonly handshakeTimeoutMs: number
  /** MQGATE_CONNECT_TIMEOUT_MS: CONNECT must follow the handshake within this. */
  readonly connectTimeoutMs: number
  /** MQGATE_KEEPALIVE_MAX_S: a longer (or disabled, 0) keepalive is held to this; MQTT 3.1.1 cannot tell the client. */
  readonly keepaliveMaxSeconds: number
  /** MQGATE_MAX_PACKET_BYTES: the largest MQTT packet accepted (IBM Watson IoT's 128 KiB by default). */
  readonly maxPacketBytes: number
  /** MQGATE_MAX_CONNECTIONS_PER_IP / MQGATE_MAX_CONNECTIONS / MQGATE_CONNECTION_RATE_PER_IP (per second). */
  readonly connectionsPerIp: number
  readonly connectionsTotal: number
  readonly connectionRatePerIp: number
  /** MQGATE_DRAIN_TIMEOUT_MS: a subscriber that does not read for this long is disconnected. */
  readonly drainTimeoutMs: number
  /** MQGATE_MAX_INFLIGHT_INBOUND: QoS 2 publishes a client may leave awaiting PUBREL. */
  readonly maxInflightInbound: number
  /**
   * MQGATE_BROKER_HEARTBEAT_MS: aedes' heartbeatInterval. Each broker announces
   * itself on `$SYS/<id>/heartbeat` this often; one silent for 3 intervals is
   * dead, and every 4 intervals the others publish the Wills it left stored.
   * Must be the same on every broker sharing a Redis.
   */
  readonly heartbeatMs: number
  /** MQGATE_MAX_SUBSCRIPTIONS_PER_CLIENT: filters one client may hold (EMQX's max_subscriptions); more are refused with 0x80. */
  readonly maxSubscriptionsPerClient: number
  /**
   * MQGATE_PUBLISH_RATE_PER_CLIENT / MQGATE_PUBLISH_BYTES_PER_CLIENT: PUBLISH
   * packets and bytes per second one client may send (EMQX's messages_rate /
   * bytes_rate). Over it the broker stops reading its socket until it is back
   * under (BROKER_ERR_LIMIT_PUBLISH_RATE): slowed, never dropped or closed.
   */
  readonly publishRatePerClient: number
  readonly publishBytesPerClient: number
  /**
   * MQGATE_MAX_QUEUED_BYTES_PER_CLIENT: what the broker holds for one
   * subscriber that has not read it yet (Mosquitto's max_queued_bytes). Beyond
   * it QoS 0 is dropped, a persistent session's QoS 1 waits in the store for
   * its next CONNECT (BROKER_ERR_LIMIT_QUEUED_BYTES).
   */
  readonly maxQueuedBytesPerClient: number
}

export const BROKER_LIMIT_DEFAULTS: BrokerLimits = Object.freeze({
  handshakeTimeoutMs: 10_000,
  connectTimeoutMs: 10_000,
  keepaliveMaxSeconds: 1200,
  maxPacketBytes: 128 * 1024,
  connectionsPerIp: 1000,
  connectionsTotal: 100_000,
  connectionRatePerIp: 50,
  drainTimeoutMs: 5_000,
  maxInflightInbound: 100,
  heartbeatMs: 60_000,
  maxSubscriptionsPerClient: 1000,
  publishRatePerClient: 1000,
  publishBytesPerClient: 4 * 1024 * 1024,
  maxQueuedBytesPerClient: 4 * 1024 * 1024
})

export const BROKER_DEFAULTS = Object.freeze({
  port: 8883,
  wsPort: 8084,
  domain: 'localhost',
  minTlsVersion: 'TLSv1.2' as tls.SecureVersion,
  maxChainDepth: 4,
  limits: BROKER_LIMIT_DEFAULTS
})
