import type { AedesPublishPacket, Client, PublishPacket, Subscription } from 'aedes'
import type { Logger } from 'pino'
import { sessionOf, sessionOfConnection, type Session } from './authenticate.js'
import { connectionInfoOf } from './connection-gate.js'
import { BrokerError, type Checked } from './errors.js'
import { SILENT_OBSERVER, type BrokerObserver } from './observer.js'
import type { RetainedOwners } from './retained-owners.js'
import { createSubscriptionLimit } from './subscription-limit.js'
import type { Identity } from './identity.js'
import { mayPublish, maySubscribe, type GatewayScope } from './policy.js'
import { clientTopicFor, internalTopic, orgPrefix, parsePublishTopic, parseSubscribeFilter, stripOrg, type SchemeTopic } from './topics.js'

export interface AuthorizeDeps {
  readonly log: Logger
  readonly gatewayScope: (orgId: string, identity: Identity) => GatewayScope
  readonly readings?: ReadingSink
  /** Who published each retained message, so that a revoked certificate's can be withdrawn. */
  readonly retainedOwners?: RetainedOwners
  /** Whether a certificate of the organisation has been revoked (for Wills replayed without a client). */
  readonly isRevoked?: (orgId: string, fingerprint: string) => boolean
  readonly observer?: BrokerObserver
  /** Filters one client may hold; unlimited when absent. */
  readonly maxSubscriptionsPerClient?: number
}

/**
 * Where accepted readings go before the device is acknowledged (the bridge's
 * durable log): `append` resolves once the reading is stored, and only then
 * does aedes send PUBACK, so an acknowledged reading is never only in memory.
 */
export interface ReadingSink {
  accepts (topic: SchemeTopic): boolean
  append (reading: { orgId: string, typeId: string, deviceId: string, payload: Buffer, receivedAt: number }): Promise<unknown>
}

/**
 * A refused subscription is stored by aedes with the rest of its SUBSCRIBE
 * packet for a persistent session; this filter, matching no topic the broker
 * ever carries, is what it stores instead of the refused one.
 */
const REFUSED_FILTER = '$refused'
const TOPIC_LOG_LIMIT = 256

/**
 * The aedes hooks that apply policy.ts to each PUBLISH, SUBSCRIBE and
 * delivery, and move topics between the client's form and the broker's
 * internal `$org/<org>/...` form (topics.ts).
 */
export function createAuthorizers (deps: AuthorizeDeps) {
  const observer = deps.observer ?? SILENT_OBSERVER
  const withinLimit = createSubscriptionLimit(deps.maxSubscriptionsPerClient ?? Infinity)
  // Publishes between authorization and their PUBACK (a reading being queued): shutdown waits for them.
  let inFlight = 0

  function authorizePublish (client: Client | null, packet: PublishPacket, done: (err?: Error | null) => void): void {
    if (client === null) return done(authorizeReplayedWill(packet))
    const session = sessionOf(client)
    if (session === undefined) return done(new BrokerError('BROKER_ERR_NO_IDENTITY', 'publish before authentication'))
    const checked = checkTopic(session, packet.topic, parsePublishTopic, mayPublish)
    if (!checked.ok) {
      observer.publishRefused(checked.code)
      session.log.warn({ event: 'publish.refused', code: checked.code, topic: clip(packet.topic), qos: packet.qos, bytes: packet.payload?.length }, checked.reason)
      return done(new BrokerError(checked.code, checked.reason))
    }
    packet.topic = internalTopic(session.orgId, checked.value)
    inFlight++
    recordRetainedOwner(packet, session.fingerprint)
      .then(async () => await queueReading(session, checked.value, packet))
      .finally(() => { inFlight-- })
      .then(() => done(null), (err: BrokerError) => done(err))
  }

  async function recordRetainedOwner (packet: PublishPacket, fingerprint: string): Promise<void> {
    if (!packet.retain || deps.retainedOwners === undefined) return
    // An empty retained publish clears the topic [MQTT-3.3.1-10].
    if ((packet.payload?.length ?? 0) === 0) await deps.retainedOwners.forget(packet.topic)
    else await deps.retainedOwners.record(packet.topic, fingerprint)
  }

  async function queueReading (session: Session, topic: SchemeTopic, packet: PublishPacket): Promise<void> {
    const readings = deps.readings
    if (readings === undefined || !readings.accepts(topic)) return
    const reading = { orgId: session.orgId, typeId: topic.typeId, deviceId: topic.id, payload: Buffer.from(packet.payload ?? ''), receivedAt: Date.now() }
    try {
      await readings.append(reading)
    } catch (err) {
      // No PUBACK: the device keeps the reading and sends it again after reconnecting.
      session.log.error({ event: 'reading.not-queued', code: 'BROKER_ERR_READING_NOT_QUEUED', err }, 'could not queue a reading; refusing the publish')
      throw new BrokerError('BROKER_ERR_READING_NOT_QUEUED', 'the reading could not be queued')
    }
  }

  function authorizeSubscribe (client: Client, sub: Subscription, done: (err: Error | null, sub?: Subscription | null) => void): void {
    const session = sessionOf(client)
    let checked: Checked<SchemeTopic> = session === undefined
      ? { ok: false as const, code: 'BROKER_ERR_NO_IDENTITY' as const, reason: 'subscribe before authentication' }
      : checkTopic(session, sub.topic, parseSubscribeFilter, maySubscribe)
    if (checked.ok && session !== undefined && !withinLimit(client, internalTopic(session.orgId, checked.value))) {
      checked = { ok: false, code: 'BROKER_ERR_LIMIT_SUBSCRIPTIONS', reason: `more than ${String(deps.maxSubscriptionsPerClient)} subscriptions` }
    }
    if (checked.ok && session !== undefined) {
      sub.topic = internalTopic(session.orgId, checked.value)
    } else if (!checked.ok) {
      observer.subscriptionRefused(checked.code)
      const log = session?.log ?? deps.log
      log.warn({ event: 'subscribe.refused', code: checked.code, filter: clip(sub.topic), qos: sub.qos }, checked.reason)
      sub.topic = REFUSED_FILTER
    }
    // Deferred so that every filter of the SUBSCRIBE is rewritten (and counted
    // against the limit) before aedes adds or stores any of them; an unpatched
    // aedes stores the packet's whole list, refused filters included.
    process.nextTick(done, null, checked.ok ? sub : null)
  }

  /** Delivery: shows the internal topic in the receiving client's form; never crosses organisations. */
  function authorizeForward (client: Client, packet: AedesPublishPacket): AedesPublishPacket | null {
    const session = sessionOf(client)
    if (session === undefined) return null
    const canonical = stripOrg(session.orgId, packet.topic)
    if (canonical === undefined) {
      // A message already rewritten for this client, re-sent from its session's
      // outgoing store; anything else starting with '$' is never for a client.
      return packet.topic.startsWith('$') ? null : packet
    }
    // A gateway's scope can be narrowed while it is connected (`gateway devices --allow`):
    // its subscriptions were checked at SUBSCRIBE, so each delivery is checked again against
    // the scope as it is now, and a command for a device it no longer represents is dropped.
    if (session.identity.kind === 'gateway' && !checkTopic(session, canonical, parseSubscribeFilter, maySubscribe).ok) {
      session.log.debug({ event: 'delivery.out-of-scope', code: 'BROKER_ERR_TOPIC_NOT_OWNED', topic: clip(canonical) }, 'not delivered: outside the gateway\'s scope')
      return null
    }
    packet.topic = clientTopicFor(session.identity, canonical)
    observer.messageOut()
    return packet
  }

  /** The client's filter in internal form, for UNSUBSCRIBE (aedes has no hook there; CONNECT came first). */
  function internalFilterFor (conn: object, filter: string): string {
    // An UNSUBSCRIBE sent in the same packet burst as CONNECT is parsed before the session exists.
    const info = connectionInfoOf(conn)
    const session = sessionOfConnection(conn) ?? (info?.orgId !== undefined && info.identity.ok ? { orgId: info.orgId, identity: info.identity.value } : undefined)
    if (session === undefined) return filter
    const parsed = parseSubscribeFilter(stripOrg(session.orgId, filter) ?? filter, session.identity)
    return parsed.ok ? internalTopic(session.orgId, parsed.value) : filter
  }

  function checkTopic (
    session: Pick<Session, 'orgId' | 'identity'>,
    topic: string,
    parse: (raw: string, identity: Identity) => Checked<SchemeTopic>,
    decide: (identity: Identity, t: SchemeTopic, scope: GatewayScope) => Checked<SchemeTopic>
  ): Checked<SchemeTopic> {
    // Internal-form topics arrive from the broker itself (stored Wills,
    // restored subscriptions); a client writing one gets exactly the same check.
    const parsed = parse(stripOrg(session.orgId, topic) ?? topic, session.identity)
    return parsed.ok ? decide(session.identity, parsed.value, deps.gatewayScope(session.orgId, session.identity)) : parsed
  }

  /**
   * aedes replays the Will of a client whose broker died, with no client and
   * no authorization of its own. It was authorized and rewritten at CONNECT
   * and tagged with its owner's certificate: it must be in the internal form
   * of the organisation its clientId names, and that certificate not revoked.
   */
  function authorizeReplayedWill (packet: PublishPacket): Error | null {
    const will = packet as PublishPacket & { clientId?: string, ownerFingerprint?: string }
    const clientId = will.clientId ?? ''
    const orgId = clientId.split(':')[1] ?? ''
    const inOrg = orgId !== '' && packet.topic.startsWith(orgPrefix(orgId))
    const revoked = inOrg && will.ownerFingerprint !== undefined && deps.isRevoked?.(orgId, will.ownerFingerprint) === true
    if (inOrg && will.ownerFingerprint !== undefined && !revoked) return null
    const code = revoked ? 'BROKER_ERR_CERT_REVOKED' : 'BROKER_ERR_WILL_FORBIDDEN'
    deps.log.warn({ event: 'will.refused', code, clientId, topic: clip(packet.topic) }, 'replayed Will refused')
    return new BrokerError(code, 'replayed Will refused')
  }

  return { authorizePublish, authorizeSubscribe, authorizeForward, internalFilterFor, inFlight: () => inFlight }
}

function clip (topic: string): string {
  return topic.length > TOPIC_LOG_LIMIT ? topic.slice(0, TOPIC_LOG_LIMIT) + '…' : topic
}
