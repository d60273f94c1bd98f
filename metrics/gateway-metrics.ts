import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import type { OcspCheckEvent } from '../access/index.js'
import type { BrokerObserver } from '../broker/index.js'
import type { CrlDeadline, Expiry } from '../certs/index.js'

/** Where the gauges read their values at scrape time; each part of the process registers what it has. */
export interface MetricSources {
  connectionsByOrg?: () => ReadonlyMap<string, number>
  /** Cluster-wide reading counters (the bridge's, kept in Redis or in this process). */
  readingCounters?: () => Promise<Record<string, number>>
  readingLag?: () => Promise<Array<{ group: string, pending: number, lag: number }>>
  redisRoundTrip?: () => Promise<number | undefined>
  expiries?: () => Promise<Expiry[]>
  /** Every loaded CRL's nextUpdate deadline (read from the registry in memory). */
  crlDeadlines?: () => CrlDeadline[]
  /** False while the registry store has lost what this process serves from memory. */
  registryIntact?: () => boolean
}

/** Expiries read every issued certificate: at most once a minute. */
const EXPIRY_CACHE_MS = 60_000

/**
 * The process's Prometheus metrics (prom-client), served on the admin port.
 * Counters are incremented as the broker reports events (it is the broker's
 * observer); gauges are read from their sources when scraped.
 */
export class GatewayMetrics implements BrokerObserver {
  readonly registry = new Registry()
  private sources: MetricSources = {}
  private expiryCache: { at: number, value: Expiry[] } | undefined

  private readonly refused = this.counter('mqgate_connections_refused_total', 'Connections refused before MQTT (handshake, TLS gate, limits, frame guard), by reason code', ['reason'])
  private readonly connacks = this.counter('mqgate_connack_total', 'CONNACK return codes sent', ['code'])
  private readonly messagesIn = this.counter('mqgate_messages_in_total', 'PUBLISH packets accepted from clients')
  private readonly messagesOut = this.counter('mqgate_messages_out_total', 'Messages delivered to clients')
  private readonly publishesRefused = this.counter('mqgate_publishes_refused_total', 'PUBLISH packets refused, by reason code', ['reason'])
  private readonly registryEmptied = this.counter('mqgate_registry_store_emptied_total', 'Times the registry store was found holding no organisation while this process held some (Redis restarted empty, FLUSHALL)')
  private readonly publishesThrottled = this.counter('mqgate_publish_throttled_total', 'Times a client over MQGATE_PUBLISH_RATE_PER_CLIENT / MQGATE_PUBLISH_BYTES_PER_CLIENT had its socket left unread until back under, by organisation', ['org'])
  private readonly deliveriesOverflowed = this.counter('mqgate_deliveries_over_queue_total', 'Deliveries to a subscriber holding more than MQGATE_MAX_QUEUED_BYTES_PER_CLIENT unread, by organisation and outcome (dropped: QoS 0 or clean session; left-in-store: a persistent session\'s QoS 1, sent at its next CONNECT)', ['org', 'outcome'])
  private readonly orgLimitsHit = this.counter('mqgate_org_limited_total', 'Times an organisation\'s own limit (mqgate org limits) bit, by organisation and code: a CONNECT refused (BROKER_ERR_LIMIT_ORG_CONNECTIONS), or a client\'s socket left unread while the organisation was over its publish rate (BROKER_ERR_LIMIT_ORG_PUBLISH_RATE)', ['org', 'reason'])
  private readonly crlFetches = this.counter('mqgate_crl_fetch_total', 'CRL fetches from the CAs\' CRL sources (ca crl-source) by this process, by organisation, CA id and outcome: updated, unchanged, older (ignored), or the failure\'s code (CERTS_ERR_CRL_FETCH_*, CERTS_ERR_CRL_SIGNATURE, ...)', ['org', 'ca', 'outcome'])
  private readonly ocspChecks = this.counter('mqgate_ocsp_check_total', 'Device certificates checked against their CA\'s OCSP responder (`mqgate ca ocsp on`), by organisation, CA id, outcome (good, revoked, unknown, failed: no usable answer, no-url: the certificate names no responder) and source (responder, or cache: no request sent)', ['org', 'ca', 'outcome', 'source'])
  private readonly subscriptionsRefused = this.counter('mqgate_subscriptions_refused_total', 'Subscriptions negated, by reason code', ['reason'])

  constructor () {
    collectDefaultMetrics({ register: this.registry })
    const metrics = this
    this.gauge('mqgate_connections', 'Authenticated MQTT clients on this process, by organisation', ['org'], function () {
      this.reset()
      for (const [org, count] of metrics.sources.connectionsByOrg?.() ?? []) this.set({ org }, count)
    })
    this.gauge('mqgate_readings', 'Readings stored, forwarded, retried, dead-lettered and rejected (by reason), across all bridge processes', ['outcome'], async function () {
      this.reset()
      for (const [outcome, value] of Object.entries(await metrics.sources.readingCounters?.() ?? {})) this.set({ outcome }, value)
    })
    this.gauge('mqgate_bridge_lag', 'Readings waiting for each bridge stage: handed out and unacknowledged (pending), or not yet handed out (lag)', ['stage', 'state'], async function () {
      this.reset()
      for (const { group, pending, lag } of await metrics.sources.readingLag?.() ?? []) {
        this.set({ stage: group, state: 'pending' }, pending)
        this.set({ stage: group, state: 'lag' }, lag)
      }
    })
    this.gauge('mqgate_redis_round_trip_seconds', 'Time for Redis to answer a PING (absent without Redis)', [], async function () {
      this.reset()
      const seconds = await metrics.sources.redisRoundTrip?.().catch(() => undefined)
      if (seconds !== undefined) this.set(seconds)
    })
    this.gauge('mqgate_certificate_expiry_seconds', 'Seconds until the earliest expiry, by organisation and kind (device certificate, CA, server certificate)', ['org', 'kind'], async function () {
      this.reset()
      for (const expiry of await metrics.expiries()) this.set({ org: expiry.orgId, kind: expiry.kind }, expiry.seconds)
    })
    this.gauge('mqgate_registry_store_intact', '1 while the registry store holds what this process serves, 0 while it serves its memory of a store that came back empty', [], function () {
      this.reset()
      const intact = metrics.sources.registryIntact?.()
      if (intact !== undefined) this.set(intact ? 1 : 0)
    })
    this.gauge('mqgate_crl_next_update_seconds', 'Seconds until each loaded CRL\'s nextUpdate, by organisation and CA id; negative once past (a fresh CRL is due)', ['org', 'ca'], function () {
      this.reset()
      for (const d of metrics.sources.crlDeadlines?.() ?? []) this.set({ org: d.orgId, ca: d.caId }, d.seconds)
    })
  }

  addSources (sources: MetricSources): void {
    this.sources = { ...this.sources, ...sources }
  }

  connectionRefused (code: string): void { this.refused.inc({ reason: code }) }
  connack (returnCode: number): void { this.connacks.inc({ code: String(returnCode) }) }
  messageIn (): void { this.messagesIn.inc() }
  messageOut (): void { this.messagesOut.inc() }
  publishRefused (code: string): void { this.publishesRefused.inc({ reason: code }) }
  subscriptionRefused (code: string): void { this.subscriptionsRefused.inc({ reason: code }) }
  publishThrottled (orgId: string): void { this.publishesThrottled.inc({ org: orgId }) }
  deliveryOverflow (orgId: string, outcome: string): void { this.deliveriesOverflowed.inc({ org: orgId, outcome }) }
  orgLimited (orgId: string, code: string): void { this.orgLimitsHit.inc({ org: orgId, reason: code }) }
  registryStoreEmptied (): void { this.registryEmptied.inc() }
  crlFetched (orgId: string, caId: string, outcome: string): void { this.crlFetches.inc({ org: orgId, ca: caId, outcome }) }
  ocspChecked (event: OcspCheckEvent): void { this.ocspChecks.inc({ org: event.orgId, ca: event.caId, outcome: event.outcome, source: event.cached ? 'cache' : 'responder' }) }

  private async expiries (): Promise<Expiry[]> {
    if (this.sources.expiries === undefined) return []
    if (this.expiryCache === undefined || Date.now() - this.expiryCache.at > EXPIRY_CACHE_MS) {
      this.expiryCache = { at: Date.now(), value: await this.sources.expiries() }
    }
    return this.expiryCache.value
  }

  private counter<L extends string> (name: string, help: string, labelNames: L[] = []): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] })
  }

  private gauge<L extends string> (name: string, help: string, labelNames: L[], collect: (this: Gauge<L>) => void | Promise<void>): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry], collect })
  }
}
