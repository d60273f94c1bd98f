import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Principal } from '../operators/operator.js'
import type { ApiAnswer, ApiCall } from './api-calls.js'

/**
 * What a console page (pages/*.ts) gets to work with. A page registers its
 * routes with CONSOLE_ROUTE (access.ts) under /console; by the time its
 * handler runs the session is checked (console-plugin.ts) and, for anything
 * but GET, its CSRF token too. A page never reads the registry: it calls the
 * admin API (`api`), which decides what this operator may see and do.
 */
export interface PageContext {
  /** An admin API route as the signed-in operator: the body of a 2xx answer, else throws ApiRefusal (its status, code, message). */
  api: (request: FastifyRequest, call: ApiCall) => Promise<any>
  /** The same, answering the refusal instead of throwing it. */
  apiAnswer: (request: FastifyRequest, call: ApiCall) => Promise<ApiAnswer>
  /** Renders `templates/<template>.eta` with the layout's data (operator, CSRF token, organisation nav) added. */
  render: (request: FastifyRequest, reply: FastifyReply, template: string, data: Record<string, unknown>, status?: number) => Promise<FastifyReply>
  /** Renders a fragment (no layout) for an htmx swap. */
  fragment: (request: FastifyRequest, reply: FastifyReply, template: string, data: Record<string, unknown>, status?: number) => Promise<FastifyReply>
  /** After a change: back to `url` (303; htmx follows it). */
  redirect: (reply: FastifyReply, url: string) => FastifyReply
}

/** The signed-in operator of a request (set by the session check). */
export interface SignedIn {
  readonly sessionId: string
  readonly principal: Principal
  readonly csrf: string
  /** How the session signed in: a password session ends when the password changes (authentication.ts). */
  readonly signedInWith: 'token' | 'password'
}

/** A refusal of the admin API as the console shows it: the same code and message the CLI prints. */
export class ApiRefusal extends Error {
  override readonly name = 'ApiRefusal'
  constructor (readonly status: number, readonly code: string, message: string) {
    super(message)
  }
}

/** The refusal of a non-2xx answer, in mqgate's envelope (`{"error":{"code","message"}}`). */
export function refusalOf (answer: ApiAnswer): ApiRefusal {
  const error = answer.body?.error
  return new ApiRefusal(answer.status, typeof error?.code === 'string' ? error.code : 'ADMIN_ERR_INTERNAL', typeof error?.message === 'string' ? error.message : `the admin API answered ${answer.status}`)
}

/** The organisation pages, in the order of the organisation's navigation (pages/index.ts adds each). */
export interface OrgPageLink {
  /** The path under /console/orgs/<org>/ (`cas`). */
  readonly path: string
  readonly title: string
}

/** Whether htmx made the request (a fragment may answer), per htmx's own request header. */
export function isHtmx (request: FastifyRequest): boolean {
  return request.headers['hx-request'] === 'true'
}
