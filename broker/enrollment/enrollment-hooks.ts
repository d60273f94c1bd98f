import type { Client, PublishPacket } from 'aedes'
import { knownStateOf, type Session } from '../../access/index.js'
import { BrokerError, allowed, refused, type Checked } from '../errors.js'
import { claimSessionOf, type ClaimSession } from './claim-session.js'
import { ENROLL_CSR_TOPIC, INTERNAL_CSR_TOPIC, INTERNAL_RESULT_FILTER, isEnrollmentAnswer, isResultFilter } from './enrollment-topics.js'
import type { MqttEnrollment } from './mqtt-enrollment.js'

/**
 * What the aedes hooks (broker/hooks/) ask of enrollment over MQTT before
 * their own policy: each answers for the packets that are enrollment's
 * (the CSR topic, the result filters, anything of a claim session) and
 * leaves every other packet to the event/command scheme. Deny by default:
 * a claim session gets nothing else, whatever it asks.
 */

const CLAIM_ONLY = 'a claim session may only publish a CSR to iot-2/enroll/csr/fmt/pem and subscribe to iot-2/enroll/result/fmt/pem (or /json)'

/**
 * PUBLISH: a CSR (from a claim session, or from an identity renewing its own
 * certificate) is decided and answered before `done`, so a QoS 1 PUBACK
 * follows the answer; it is then rewritten to the internal topic nothing
 * routes. A claim session publishing anywhere else is refused (the
 * connection closes, [MQTT-3.3.5-2]). False: not enrollment's, the
 * scheme's policy decides.
 */
export function publishForEnrollment (enrollment: MqttEnrollment | undefined, client: Client, packet: PublishPacket, done: (err?: Error | null) => void): boolean {
  const claim = claimSessionOf(client)
  const isCsr = packet.topic === ENROLL_CSR_TOPIC && enrollment !== undefined
  if (claim === undefined) {
    const session = knownStateOf(client.conn)?.session
    return isCsr && session !== undefined && takeCsr(enrollment, client, session, packet, done)
  }
  if (isCsr) return takeCsr(enrollment, client, claim, packet, done)
  claim.log.warn({ event: 'publish.refused', code: 'BROKER_ERR_CLAIM_ONLY_ENROLLS', topic: packet.topic.slice(0, 256), qos: packet.qos }, CLAIM_ONLY)
  done(new BrokerError('BROKER_ERR_CLAIM_ONLY_ENROLLS', CLAIM_ONLY))
  return true
}

function takeCsr (enrollment: MqttEnrollment, client: Client, session: Session | ClaimSession, packet: PublishPacket, done: (err?: Error | null) => void): true {
  const answered = enrollment.answer(client, session, packet)
  packet.topic = INTERNAL_CSR_TOPIC
  // Never kept as a retained message, whatever the client asked.
  packet.retain = false
  // answer() never rejects: a refusal is an answer, and the connection stays.
  void answered.then(() => done(null))
  return true
}

/**
 * SUBSCRIBE: a result filter is granted (to a claim session and to any
 * identity) and stored as a filter nothing is published to, since answers
 * are delivered directly; a claim session's other filters are refused
 * (granted QoS 128). Undefined: not enrollment's.
 */
export function subscribeForEnrollment (client: Client, filter: string): Checked<string> | undefined {
  const claim = claimSessionOf(client)
  if (claim === undefined && knownStateOf(client.conn)?.session === undefined) return undefined
  if (isResultFilter(filter)) return allowed(INTERNAL_RESULT_FILTER)
  return claim === undefined ? undefined : refused('BROKER_ERR_CLAIM_ONLY_ENROLLS', CLAIM_ONLY)
}

/** Delivery to a claim session: its answers only. */
export function forwardToClaimSession<P extends PublishPacket> (client: Client, packet: P): P | null {
  return claimSessionOf(client) !== undefined && isEnrollmentAnswer(packet.topic) ? packet : null
}
