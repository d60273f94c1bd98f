/** The bridge's slice of the process configuration (read from the environment in config/). */
export interface BridgeConfig {
  /** MQGATE_BRIDGE_NAME: this process's consumer name; a restart under the same name resumes its unfinished readings. */
  readonly name: string
  /** MQGATE_READING_EVENT / MQGATE_READING_FORMAT: the event that carries readings (`temp`, `json`). */
  readonly readingEvent: string
  readonly readingFormat: string
  /** MQGATE_READINGS_PER_DEVICE: readings kept per device, newest first (10,000). */
  readonly readingsPerDevice: number
  /** MQGATE_TEMPS_URL: an external temps API readings are POSTed to; undefined: mqgate's own, which serves the store and is not POSTed to. `{org}`, `{type}`, `{id}` are filled in. */
  readonly tempsUrl?: string
  /** MQGATE_TEMPS_SERVERNAME: SNI for the temps API (`{org}` filled in). */
  readonly tempsServername?: string
  /** MQGATE_TEMPS_CA_FILE: a CA to trust for the temps API's certificate. */
  readonly tempsCaFile?: string
  /** MQGATE_TEMPS_TIMEOUT_MS: one POST's time limit (10 s). */
  readonly tempsTimeoutMs: number
  /** MQGATE_BRIDGE_CERT_FILE / MQGATE_BRIDGE_KEY_FILE: the bridge's client certificate; default a:mqgate-bridge of each org's CA. */
  readonly certFile?: string
  readonly keyFile?: string
}

/** The temps API's slice. */
export interface ApiConfig {
  /** MQGATE_API_PORT: HTTPS (8443). */
  readonly port: number
  /** MQGATE_API_HOST: address to bind, all interfaces by default. */
  readonly host?: string
  /** MQGATE_PROTECTED_HOSTS: comma-separated hosts that require a verified client certificate, or `*` (default). */
  readonly protectedHosts: '*' | readonly string[]
}

export const BRIDGE_DEFAULTS = Object.freeze({
  readingEvent: 'temp',
  readingFormat: 'json',
  readingsPerDevice: 10_000,
  tempsTimeoutMs: 10_000,
  apiPort: 8443
})
