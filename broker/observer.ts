/**
 * What the broker reports as it works, for metrics. The broker knows no
 * metrics library; the process wiring hands it an observer (metrics/).
 */
export interface BrokerObserver {
  /** A connection refused before MQTT: handshake, TLS gate, connection limits, frame guard. */
  connectionRefused (code: string): void
  connack (returnCode: number): void
  messageIn (): void
  messageOut (): void
  publishRefused (code: string): void
  subscriptionRefused (code: string): void
  /** A client over its publish rate: its socket is not read for a while. */
  publishThrottled (orgId: string): void
  /** A delivery over a subscriber's queued-bytes bound: dropped, or left in its session's store. */
  deliveryOverflow (orgId: string, outcome: 'dropped' | 'left-in-store'): void
  /** An organisation's own limit bit (`mqgate org limits`): a CONNECT refused, or a client held back by the org's publish rate. */
  orgLimited (orgId: string, code: 'BROKER_ERR_LIMIT_ORG_CONNECTIONS' | 'BROKER_ERR_LIMIT_ORG_PUBLISH_RATE'): void
}

export const SILENT_OBSERVER: BrokerObserver = Object.freeze({
  connectionRefused () {},
  connack () {},
  messageIn () {},
  messageOut () {},
  publishRefused () {},
  subscriptionRefused () {},
  publishThrottled () {},
  deliveryOverflow () {},
  orgLimited () {}
})
