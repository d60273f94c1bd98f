import type { Client, PublishPacket } from 'aedes'
import type { Logger } from 'pino'
import { BrokerError } from '../errors.js'
import { publishForEnrollment } from '../enrollment/enrollment-hooks.js'
import type { MqttEnrollment } from '../enrollment/mqtt-enrollment.js'
import { SILENT_OBSERVER, type BrokerObserver } from '../observer.js'
import { mayPublish } from '../policy.js'
import type { ReadingQueue } from '../reading-queue.js'
import { recordRetainedOwner, type RetainedOwners } from '../retained-owners.js'
import { internalTopic, parsePublishTopic } from '../topics.js'
import { sessionOf } from './session.js'
import { checkTopic, clip, type ScopeOf } from './topic-check.js'
import { checkReplayedWill } from './will.js'

export interface PublishDeps {
  readonly log: Logger
  readonly scopeOf: ScopeOf
  readonly readings: ReadingQueue
  /** Who published each retained message, so that a revoked certificate's can be withdrawn. */
  readonly retainedOwners?: RetainedOwners
  /** Whether a certificate of the organisation has been revoked (for Wills replayed without a client). */
  readonly isRevoked?: (orgId: string, fingerprint: string) => boolean
  readonly observer?: BrokerObserver
  /** Enrollment and renewal over MQTT (a CSR on iot-2/enroll/csr/fmt/pem); absent: claim sessions may publish nothing. */
  readonly enrollment?: MqttEnrollment
}

/**
 * aedes' PUBLISH hook: the topic is decided by policy.ts for the session's
 * identity and rewritten to the internal `$org/<org>/...` form; the retained
 * owner is recorded and the reading queued before aedes may send PUBACK.
 */
export function createAuthorizePublish (deps: PublishDeps) {
  const observer = deps.observer ?? SILENT_OBSERVER
  return function authorizePublish (client: Client | null, packet: PublishPacket, done: (err?: Error | null) => void): void {
    if (client === null) return done(checkReplayedWill(packet, deps.isRevoked, deps.log))
    if (publishForEnrollment(deps.enrollment, client, packet, done)) return
    const session = sessionOf(client)
    if (session === undefined) return done(new BrokerError('BROKER_ERR_NO_IDENTITY', 'publish before authentication'))
    const checked = checkTopic(session, packet.topic, parsePublishTopic, mayPublish, deps.scopeOf)
    if (!checked.ok) {
      observer.publishRefused(checked.code)
      session.log.warn({ event: 'publish.refused', code: checked.code, topic: clip(packet.topic), qos: packet.qos, bytes: packet.payload?.length }, checked.reason)
      return done(new BrokerError(checked.code, checked.reason))
    }
    packet.topic = internalTopic(session.orgId, checked.value)
    deps.readings.during(async () => {
      await recordRetainedOwner(deps.retainedOwners, packet, session.fingerprint)
      await deps.readings.queue(session, checked.value, packet)
    }).then(() => done(null), (err: BrokerError) => done(err))
  }
}
