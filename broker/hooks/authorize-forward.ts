import type { AedesPublishPacket, Client } from 'aedes'
import { forwardToClaimSession } from '../enrollment/enrollment-hooks.js'
import { SILENT_OBSERVER, type BrokerObserver } from '../observer.js'
import { maySubscribe } from '../policy.js'
import { clientTopicFor, parseSubscribeFilter, stripOrg } from '../topics.js'
import { sessionOf } from './session.js'
import { checkTopic, clip, type ScopeOf } from './topic-check.js'

/** aedes' delivery hook: shows the internal topic in the receiving client's form; never crosses organisations. */
export function createAuthorizeForward (deps: { readonly scopeOf: ScopeOf, readonly observer?: BrokerObserver }) {
  const observer = deps.observer ?? SILENT_OBSERVER
  return function authorizeForward (client: Client, packet: AedesPublishPacket): AedesPublishPacket | null {
    const session = sessionOf(client)
    // No identity: a claim session (its enrollment answers only) or nobody.
    if (session === undefined) return forwardToClaimSession(client, packet)
    const canonical = stripOrg(session.orgId, packet.topic)
    if (canonical === undefined) {
      // A message already rewritten for this client, re-sent from its session's
      // outgoing store; anything else starting with '$' is never for a client.
      return packet.topic.startsWith('$') ? null : packet
    }
    // A gateway's scope can be narrowed while it is connected (`gateway devices --allow`):
    // its subscriptions were checked at SUBSCRIBE, so each delivery is checked again against
    // the scope as it is now, and a command for a device it no longer represents is dropped.
    if (session.identity.kind === 'gateway' && !checkTopic(session, canonical, parseSubscribeFilter, maySubscribe, deps.scopeOf).ok) {
      session.log.debug({ event: 'delivery.out-of-scope', code: 'BROKER_ERR_TOPIC_NOT_OWNED', topic: clip(canonical) }, 'not delivered: outside the gateway\'s scope')
      return null
    }
    packet.topic = clientTopicFor(session.identity, canonical)
    observer.messageOut()
    return packet
  }
}
