import type { Identity } from '../../access/index.js'
import type { Checked } from '../errors.js'
import type { GatewayScope } from '../policy.js'
import { stripOrg, type SchemeTopic } from '../topics.js'

/** Who a topic is checked for: the organisation and identity of a session. */
export interface TopicSubject {
  readonly orgId: string
  readonly identity: Identity
}

/** The gateway scope of an identity now: read at each decision, so a narrowed scope applies to the next packet. */
export type ScopeOf = (orgId: string, identity: Identity) => GatewayScope

/**
 * Parses a topic in the client's form and decides it with policy.ts.
 * Internal-form topics arrive from the broker itself (stored Wills, restored
 * subscriptions); a client writing one gets exactly the same check.
 */
export function checkTopic (
  subject: TopicSubject,
  topic: string,
  parse: (raw: string, identity: Identity) => Checked<SchemeTopic>,
  decide: (identity: Identity, t: SchemeTopic, scope: GatewayScope) => Checked<SchemeTopic>,
  scopeOf: ScopeOf
): Checked<SchemeTopic> {
  const parsed = parse(stripOrg(subject.orgId, topic) ?? topic, subject.identity)
  return parsed.ok ? decide(subject.identity, parsed.value, scopeOf(subject.orgId, subject.identity)) : parsed
}

const TOPIC_LOG_LIMIT = 256

/** A topic short enough for a log line. */
export function clip (topic: string): string {
  return topic.length > TOPIC_LOG_LIMIT ? topic.slice(0, TOPIC_LOG_LIMIT) + '…' : topic
}
