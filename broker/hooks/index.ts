import type { Logger } from 'pino'
import type { IdentityResolver } from '../../access/index.js'
import type { BrokerObserver } from '../observer.js'
import type { ReadingQueue } from '../reading-queue.js'
import type { RetainedOwners } from '../retained-owners.js'
import { createAuthenticate, type AuthenticateDeps } from './authenticate.js'
import { createAuthorizeForward } from './authorize-forward.js'
import { createAuthorizePublish } from './authorize-publish.js'
import { createAuthorizeSubscribe } from './authorize-subscribe.js'
import type { ScopeOf } from './topic-check.js'

export interface HookDeps {
  readonly resolver: IdentityResolver
  readonly log: Logger
  readonly scopeOf: ScopeOf
  readonly readings: ReadingQueue
  readonly retainedOwners?: RetainedOwners
  readonly isRevoked?: (orgId: string, fingerprint: string) => boolean
  readonly observer?: BrokerObserver
  readonly maxSubscriptionsPerClient?: number
  readonly admitSession?: AuthenticateDeps['admitSession']
}

/** aedes' hooks, each a thin adapter (one file per job) over the identity path and policy.ts. */
export function createHooks (deps: HookDeps) {
  return {
    ...createAuthenticate(deps),
    authorizePublish: createAuthorizePublish(deps),
    authorizeSubscribe: createAuthorizeSubscribe(deps),
    authorizeForward: createAuthorizeForward(deps)
  }
}

export { sessionOf, sessionOfConnection } from './session.js'
export { rewriteUnsubscribeFilters } from './unsubscribe.js'
export type { ScopeOf } from './topic-check.js'
