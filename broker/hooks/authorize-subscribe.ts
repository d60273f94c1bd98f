import type { Client, Subscription } from 'aedes'
import type { Session } from '../../access/index.js'
import type { Logger } from 'pino'
import { allowed, refused, type Checked } from '../errors.js'
import { subscribeForEnrollment } from '../enrollment/enrollment-hooks.js'
import { claimSessionOf } from '../enrollment/claim-session.js'
import { SILENT_OBSERVER, type BrokerObserver } from '../observer.js'
import { maySubscribe } from '../policy.js'
import { createSubscriptionLimit } from '../subscription-limit.js'
import { internalTopic, parseSubscribeFilter } from '../topics.js'
import { sessionOf } from './session.js'
import { checkTopic, clip, type ScopeOf } from './topic-check.js'

export interface SubscribeDeps {
  readonly log: Logger
  readonly scopeOf: ScopeOf
  readonly observer?: BrokerObserver
  /** Filters one client may hold; unlimited when absent. */
  readonly maxSubscriptionsPerClient?: number
}

/**
 * A refused subscription is stored by aedes with the rest of its SUBSCRIBE
 * packet for a persistent session; this filter, matching no topic the broker
 * ever carries, is what it stores instead of the refused one.
 */
const REFUSED_FILTER = '$refused'

/** aedes' SUBSCRIBE hook: each filter decided by policy.ts and the subscription limit, and rewritten to internal form. */
export function createAuthorizeSubscribe (deps: SubscribeDeps) {
  const observer = deps.observer ?? SILENT_OBSERVER
  const withinLimit = createSubscriptionLimit(deps.maxSubscriptionsPerClient ?? Infinity)
  return function authorizeSubscribe (client: Client, sub: Subscription, done: (err: Error | null, sub?: Subscription | null) => void): void {
    const session = sessionOf(client)
    // Enrollment's filters first (the result topics; everything of a claim session), then the scheme's.
    const enrollment = subscribeForEnrollment(client, sub.topic)
    let checked: Checked<string> = enrollment ?? schemeFilter(session, sub.topic, deps.scopeOf)
    if (checked.ok && !withinLimit(client, checked.value)) {
      checked = { ok: false, code: 'BROKER_ERR_LIMIT_SUBSCRIPTIONS', reason: `more than ${String(deps.maxSubscriptionsPerClient)} subscriptions` }
    }
    if (checked.ok) {
      sub.topic = checked.value
    } else if (!checked.ok) {
      observer.subscriptionRefused(checked.code)
      const log = session?.log ?? claimSessionOf(client)?.log ?? deps.log
      log.warn({ event: 'subscribe.refused', code: checked.code, filter: clip(sub.topic), qos: sub.qos }, checked.reason)
      sub.topic = REFUSED_FILTER
    }
    // Deferred so that every filter of the SUBSCRIBE is rewritten (and counted
    // against the limit) before aedes adds or stores any of them; an unpatched
    // aedes stores the packet's whole list, refused filters included.
    process.nextTick(done, null, checked.ok ? sub : null)
  }
}

/** The filter in internal form, as policy.ts decides it for the session's identity. */
function schemeFilter (session: Session | undefined, filter: string, scopeOf: ScopeOf): Checked<string> {
  if (session === undefined) return refused('BROKER_ERR_NO_IDENTITY', 'subscribe before authentication')
  const checked = checkTopic(session, filter, parseSubscribeFilter, maySubscribe, scopeOf)
  return checked.ok ? allowed(internalTopic(session.orgId, checked.value)) : checked
}
