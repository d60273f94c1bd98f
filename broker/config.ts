import type tls from 'node:tls'

/** The broker's slice of the process configuration (read from the environment in config/). */
export interface BrokerConfig {
  /** MQGATE_MQTT_HOST: address to bind; all interfaces by default. */
  readonly host?: string
  /** MQGATE_MQTT_PORT: the MQTT-over-TLS port (8883, IANA "secure-mqtt"); 0 picks a free one. */
  readonly port: number
  /** MQGATE_DOMAIN: organisations are reached as `<org>.messaging.<domain>`. */
  readonly domain: string
  /** MQGATE_DEFAULT_ORG: the organisation of clients without a usable SNI name; none by default. */
  readonly defaultOrg?: string
  /** REDIS_URL: sessions and routing in Redis, shared by every broker process; in memory without it. */
  readonly redisUrl?: string
  /** MQGATE_CONNECT_TIMEOUT_MS: how long a TLS connection may wait before sending CONNECT. */
  readonly connectTimeoutMs: number
  /** TLS 1.2 at least (1.3 is negotiated when the client offers it). */
  readonly minTlsVersion: tls.SecureVersion
}

export const BROKER_DEFAULTS = Object.freeze({
  port: 8883,
  domain: 'localhost',
  connectTimeoutMs: 30_000,
  minTlsVersion: 'TLSv1.2' as tls.SecureVersion
})
