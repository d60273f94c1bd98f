import type { AdminErrorCode } from './errors.js'
import type { Principal } from './operators/operator.js'

/**
 * What a route of the admin API needs, declared on the route itself
 * (`config: { access }`); a route without a declaration does not start
 * (admin-server.ts checks each at registration: deny by default).
 *
 * org      scoped by the route's `:org` (Cloudflare's routes: the zone): an
 *          admin, or an org-admin or viewer of that organisation; a viewer
 *          only reads (GET, HEAD)
 * org-list any operator; the handler shows only the operator's organisations
 * admin    an admin only: organisations, operators, and what spans every
 *          organisation (metrics, the readings' dead letters)
 * self     any operator, acting on its own record only (its password): the
 *          handler finds the record by the caller, never by the URL
 * public   no token at all (health probes)
 * console  the web console's pages (console/): signed in by the console's
 *          session cookie, not a bearer token; a page holds no power of its
 *          own: everything it shows or changes is a call into these routes
 *          (console/api-calls.ts) with the session's operator, so refusalOf
 *          decides for the console as for the API
 */
export const ROUTE_ACCESS = ['org', 'org-list', 'self', 'admin', 'public', 'console'] as const
export type RouteAccess = typeof ROUTE_ACCESS[number]

/** Route options that declare the access, for `app.get(url, ORG_ROUTE, handler)`. */
export const ORG_ROUTE = Object.freeze({ config: Object.freeze({ access: 'org' as RouteAccess }) })
export const ADMIN_ROUTE = Object.freeze({ config: Object.freeze({ access: 'admin' as RouteAccess }) })
export const PUBLIC_ROUTE = Object.freeze({ config: Object.freeze({ access: 'public' as RouteAccess }) })
export const SELF_ROUTE = Object.freeze({ config: Object.freeze({ access: 'self' as RouteAccess }) })
export const CONSOLE_ROUTE = Object.freeze({ config: Object.freeze({ access: 'console' as RouteAccess }) })

export function isRouteAccess (value: unknown): value is RouteAccess {
  return (ROUTE_ACCESS as readonly unknown[]).includes(value)
}

export interface AccessRequest {
  readonly access: RouteAccess
  readonly method: string
  /** The route's organisation (`:org` or `:zone`), when it has one. */
  readonly orgId?: string
}

/** undefined when allowed, else the refusal's code. Pure: the admin API's one decision, table-tested. */
export function refusalOf (who: Principal, request: AccessRequest): AdminErrorCode | undefined {
  if (request.access === 'public' || who.role === 'admin') return undefined
  // A console page is authorised call by call, by the API routes it calls (see above).
  if (request.access === 'console') return undefined
  if (request.access === 'org-list' || request.access === 'self') return undefined
  if (request.access === 'admin') return 'ADMIN_ERR_FORBIDDEN_ROLE'
  // 'org': a route declared org-scoped without an organisation in its path is refused, not guessed.
  if (request.orgId === undefined || !who.orgs.includes(request.orgId)) return 'ADMIN_ERR_FORBIDDEN_ORG'
  if (who.role === 'viewer' && !isRead(request.method)) return 'ADMIN_ERR_FORBIDDEN_ROLE'
  return undefined
}

/**
 * The one decision that depends on a route's body as well as its access: a
 * change that makes the gateway fetch URLs an organisation chooses (`ca
 * crl-source`; `ca ocsp on`, whose responder URLs come from certificates the
 * organisation makes). Without MQGATE_CRL_FETCH_ALLOW (`allowListSet` false)
 * the fetcher goes wherever the gateway can reach, its own Redis or a cloud
 * metadata address included, so only an admin may ask for it; with the list,
 * the list bounds every organisation's fetches and an org-admin may too. The
 * route calls it when its body asks for a fetch (ocsp: enabled true), after
 * refusalOf has allowed the route. undefined when allowed.
 */
export function fetchRefusalOf (who: Principal, allowListSet: boolean): AdminErrorCode | undefined {
  return who.role === 'admin' || allowListSet ? undefined : 'ADMIN_ERR_FETCH_NEEDS_ALLOW_LIST'
}

/** Whether the operator sees organisation `orgId` in lists. */
export function seesOrg (who: Principal, orgId: string): boolean {
  return who.role === 'admin' || who.orgs.includes(orgId)
}

function isRead (method: string): boolean {
  return method === 'GET' || method === 'HEAD'
}
