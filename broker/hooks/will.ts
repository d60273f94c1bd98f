import type { PublishPacket } from 'aedes'
import type { Logger } from 'pino'
import { orgOfClientId, type Principal } from '../../access/index.js'
import { BrokerError, allowed, refused, type Checked } from '../errors.js'
import { mayPublish } from '../policy.js'
import { internalTopic, orgPrefix, parsePublishTopic } from '../topics.js'
import { clip, type ScopeOf } from './topic-check.js'

/**
 * A Will is a publish the broker makes later on the client's behalf: it is
 * authorized at CONNECT, stored in internal form, and tagged with its owner's
 * certificate so that a replay after a crash can check it was not revoked since.
 */
export function authorizeWill (principal: Principal, will: PublishPacket, scopeOf: ScopeOf): Checked<string> {
  const parsed = parsePublishTopic(will.topic, principal.identity)
  if (!parsed.ok) return refused('BROKER_ERR_WILL_FORBIDDEN', `the Will topic is refused: ${parsed.reason}`)
  const permitted = mayPublish(principal.identity, parsed.value, scopeOf(principal.orgId, principal.identity))
  if (!permitted.ok) return refused('BROKER_ERR_WILL_FORBIDDEN', `the Will topic is refused: ${permitted.reason}`)
  will.topic = internalTopic(principal.orgId, permitted.value)
  Object.assign(will, { ownerFingerprint: principal.fingerprint })
  return allowed(will.topic)
}

/**
 * aedes replays the Will of a client whose broker died, with no client and
 * no authorization of its own. It must be in the internal form of the
 * organisation its clientId names, and its owner's certificate not revoked.
 */
export function checkReplayedWill (packet: PublishPacket, isRevoked: ((orgId: string, fingerprint: string) => boolean) | undefined, log: Logger): Error | null {
  const will = packet as PublishPacket & { clientId?: string, ownerFingerprint?: string }
  const clientId = will.clientId ?? ''
  const orgId = orgOfClientId(clientId) ?? ''
  const inOrg = orgId !== '' && packet.topic.startsWith(orgPrefix(orgId))
  const revoked = inOrg && will.ownerFingerprint !== undefined && isRevoked?.(orgId, will.ownerFingerprint) === true
  if (inOrg && will.ownerFingerprint !== undefined && !revoked) return null
  const code = revoked ? 'BROKER_ERR_CERT_REVOKED' : 'BROKER_ERR_WILL_FORBIDDEN'
  log.warn({ event: 'will.refused', code, clientId, topic: clip(packet.topic) }, 'replayed Will refused')
  return new BrokerError(code, 'replayed Will refused')
}
