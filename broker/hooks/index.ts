import { createAuthenticate, type AuthenticateDeps } from './authenticate.js'
import { createAuthorizeForward } from './authorize-forward.js'
import { createAuthorizePublish, type PublishDeps } from './authorize-publish.js'
import { createAuthorizeSubscribe, type SubscribeDeps } from './authorize-subscribe.js'

/** What every hook needs, together: each hook file says which part it reads. */
export type HookDeps = AuthenticateDeps & PublishDeps & SubscribeDeps

/** aedes' hooks, each a thin adapter (one file per job) over the identity path and policy.ts. */
export function createHooks (deps: HookDeps) {
  return {
    ...createAuthenticate(deps),
    authorizePublish: createAuthorizePublish(deps),
    authorizeSubscribe: createAuthorizeSubscribe(deps),
    authorizeForward: createAuthorizeForward(deps)
  }
}

export { sessionOf } from './session.js'
export { rewriteUnsubscribeFilters } from './unsubscribe.js'
export type { ScopeOf } from './topic-check.js'
