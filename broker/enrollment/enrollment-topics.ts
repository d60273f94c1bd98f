import type { Aedes } from 'aedes'

/**
 * The topics of enrollment over MQTT (issue 13, "MQTT-only devices"), in one
 * place. They are outside the iot-2 event/command scheme (topics.ts): a
 * client writes them as they are, and the broker never routes them.
 *
 * iot-2/enroll/csr/fmt/pem      the client publishes its PKCS#10 (PEM) here
 * iot-2/enroll/result/fmt/pem   the answer: the new certificate, then the CA chain (PEM)
 * iot-2/enroll/result/fmt/json  a refusal: {"error":{"code","message"}}
 *
 * An answer goes to the requesting client alone (client.publish, not the
 * broker's routing), whether or not it subscribed to a result topic.
 */
export const ENROLL_CSR_TOPIC = 'iot-2/enroll/csr/fmt/pem'
export const ENROLL_CHAIN_TOPIC = 'iot-2/enroll/result/fmt/pem'
export const ENROLL_ERROR_TOPIC = 'iot-2/enroll/result/fmt/json'

/**
 * Where a CSR publish is rewritten to once handled: every client's filter is
 * rewritten to `$org/<org>/...` (or refused), so none can match it, and
 * swallowEnrollmentPublishes drops it before aedes routes or stores it.
 */
export const INTERNAL_CSR_TOPIC = '$enroll/csr'

/**
 * What a result filter is stored as: a topic nothing is ever published to
 * (every `$enroll/` publish is dropped), so an answer is never delivered twice,
 * once directly and once through the subscription.
 */
export const INTERNAL_RESULT_FILTER = '$enroll/result'

const RESULT_FILTERS = new Set([
  ENROLL_CHAIN_TOPIC,
  ENROLL_ERROR_TOPIC,
  'iot-2/enroll/result/fmt/+',
  'iot-2/enroll/result/fmt/#',
  'iot-2/enroll/result/#'
])

/** A SUBSCRIBE filter that matches the result topics and nothing else. */
export function isResultFilter (filter: string): boolean {
  return RESULT_FILTERS.has(filter)
}

/** The topic of an answer this broker delivered itself. */
export function isEnrollmentAnswer (topic: string): boolean {
  return topic === ENROLL_CHAIN_TOPIC || topic === ENROLL_ERROR_TOPIC
}

/**
 * A CSR, once answered, goes nowhere: not to a subscriber, not to the
 * retained store, not over Redis to the other broker processes. aedes
 * publishes what authorizePublish let through, so the internal topic is
 * dropped here, the publish's callback called as if routed (QoS 1's PUBACK
 * and QoS 2's PUBREC follow as usual).
 */
export function swallowEnrollmentPublishes (aedes: Aedes): void {
  const publish = aedes.publish.bind(aedes) as (packet: { topic: string }, ...rest: unknown[]) => void
  aedes.publish = ((packet: { topic: string }, ...rest: unknown[]) => {
    if (!packet.topic.startsWith('$enroll/')) return publish(packet, ...rest)
    const done = rest.find(arg => typeof arg === 'function') as (() => void) | undefined
    done?.()
  }) as unknown as typeof aedes.publish
}
