import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import fastifyCookie from '@fastify/cookie'
import fastifyFormbody from '@fastify/formbody'
import fastifyView from '@fastify/view'
import { Eta } from 'eta'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import type { Authentication } from '../authentication.js'
import { pathOf } from '../http-errors.js'
import type { ConsoleCalls } from './api-calls.js'
import { ApiRefusal, isHtmx, refusalOf, type PageContext, type SignedIn } from './page-context.js'
import { CONSOLE_PAGES, ORG_PAGE_LINKS } from './pages/index.js'
import { addSecurityHeaders, COOKIE_BASE, csrfMatches, SESSION_COOKIE } from './security.js'
import type { ConsoleSessionStore } from './session-store.js'

export interface ConsoleDeps {
  /** The admin API's own app (the root instance): every page action is an inject into it. */
  readonly api: FastifyInstance
  readonly calls: ConsoleCalls
  readonly authentication: Authentication
  readonly sessions: ConsoleSessionStore
  readonly idleMs: number
  readonly log: Logger
}

/**
 * Route config of the pages reached signed out (sign-in, assets): `config: { access: 'console', signedOut: true }`;
 * of what a page polls by itself (`passive: true`): signed in, but no sign that anybody is there,
 * so it neither restarts the session's idle clock nor renews its cookie.
 */
export interface ConsoleRouteConfig { readonly access?: string, readonly signedOut?: boolean, readonly passive?: boolean }

const TEMPLATES = fileURLToPath(new URL('./templates/', import.meta.url))
const ASSETS = new URL('./assets/', import.meta.url)
/** What the build copies next to this file (scripts/copy-console-assets.mjs): htmx from its npm package, the CSS and console.js. */
const ASSET_FILES: Readonly<Record<string, string>> = { 'htmx.min.js': 'text/javascript', 'console.js': 'text/javascript', 'console.css': 'text/css' }

/**
 * The web console under /console, in the admin API's process: server-rendered
 * Eta templates (escaping by Eta), htmx for partial updates, a session cookie
 * after sign-in with an operator token or an operator's password. See page-context.ts for what a page
 * gets, pages/index.ts for how one is added.
 */
export function consolePlugin (deps: ConsoleDeps) {
  return async (app: FastifyInstance) => {
    const signedIn = new WeakMap<FastifyRequest, SignedIn>()
    await app.register(fastifyCookie)
    await app.register(fastifyFormbody, { bodyLimit: 1024 * 1024 })
    await app.register(fastifyView, { engine: { eta: new Eta({ views: TEMPLATES, autoEscape: true, cache: true }) }, templates: TEMPLATES })
    app.addHook('onSend', async (_request, reply) => addSecurityHeaders(reply))
    app.addHook('onRequest', async (request, reply) => {
      const config = request.routeOptions.config as ConsoleRouteConfig | undefined
      if (config?.signedOut === true) return
      const passive = config?.passive === true
      const who = await sessionOf(request, deps, passive)
      if (who === undefined) return await signedOutAnswer(request, reply)
      signedIn.set(request, who)
      // The cookie lives as long as the session may idle, renewed with each request like the session (a poll renews neither).
      if (!passive) void reply.setCookie(SESSION_COOKIE, who.sessionId, { ...COOKIE_BASE, maxAge: Math.floor(deps.idleMs / 1000) })
    })
    app.addHook('preHandler', async request => {
      const who = signedIn.get(request)
      if (who === undefined || request.method === 'GET' || request.method === 'HEAD') return
      const presented = (request.body as { _csrf?: unknown } | undefined)?._csrf ?? request.headers['x-csrf-token']
      if (!csrfMatches(presented, who.csrf)) {
        deps.log.warn({ event: 'console.csrf-refused', code: 'ADMIN_ERR_CSRF', operator: who.principal.name, method: request.method, url: pathOf(request), remoteAddress: request.ip }, 'console change without its CSRF token')
        throw new ApiRefusal(403, 'ADMIN_ERR_CSRF', 'the form is missing its CSRF token or it does not match this session: reload the page and try again')
      }
    })
    app.setNotFoundHandler(async (request, reply) => {
      const refusal = new ApiRefusal(404, 'ADMIN_ERR_NOT_FOUND', `no console page ${request.method} ${request.url.split('?')[0].slice(0, 200)}`)
      return await context.render(request, reply, 'error', { title: 'Not found', refusal }, 404)
    })
    app.setErrorHandler(async (err, request, reply) => {
      const refusal = err instanceof ApiRefusal ? err : internalRefusal(err as Error & { statusCode?: number }, request, deps.log)
      return await context.render(request, reply, 'error', { title: `Error ${refusal.status}`, refusal }, refusal.status)
    })

    const whoOf = (request: FastifyRequest): SignedIn => signedIn.get(request) as SignedIn
    const context: PageContext = {
      apiAnswer: async (request, call) => await deps.calls.call(deps.api, whoOf(request).principal, request.ip, call),
      api: async (request, call) => {
        const answer = await context.apiAnswer(request, call)
        if (answer.status >= 300) throw refusalOf(answer)
        return answer.body
      },
      render: async (request, reply, template, data, status = 200) => {
        const who = signedIn.get(request)
        const layout = { operator: who?.principal, csrf: who?.csrf ?? '', orgPages: ORG_PAGE_LINKS, org: undefined, ...data }
        return await reply.status(status).type('text/html; charset=utf-8').view(template, layout)
      },
      fragment: async (request, reply, template, data, status = 200) =>
        await reply.status(status).type('text/html; charset=utf-8').view(template, { csrf: signedIn.get(request)?.csrf ?? '', ...data }),
      redirect: (reply, url) => reply.redirect(url, 303)
    }
    for (const [name, type] of Object.entries(ASSET_FILES)) {
      const body = readFileSync(new URL(name, ASSETS))
      app.get(`/assets/${name}`, { config: { access: 'console', signedOut: true } }, async (_request, reply) =>
        await reply.type(type).header('cache-control', 'no-cache').send(body))
    }
    for (const page of CONSOLE_PAGES) page({ app, context, deps, whoOf })
  }
}

/** The session of the request's cookie (its idle clock restarted unless `passive`), with its operator as the token would authenticate now. */
async function sessionOf (request: FastifyRequest, deps: ConsoleDeps, passive: boolean): Promise<SignedIn | undefined> {
  const sessionId = request.cookies[SESSION_COOKIE]
  if (sessionId === undefined || sessionId === '') return undefined
  const session = passive ? await deps.sessions.peek(sessionId) : await deps.sessions.touch(sessionId)
  if (session === undefined) return undefined
  const principal = await deps.authentication.recheck(session.credential)
  if (principal === undefined) {
    await deps.sessions.remove(sessionId)
    return undefined
  }
  return { sessionId, principal, csrf: session.csrf, signedInWith: session.credential.kind === 'password' ? 'password' : 'token' }
}

/** Signed out (or idle too long): a page goes to the sign-in form; a change is refused (401) rather than replayed after it. */
async function signedOutAnswer (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  if (request.method === 'GET' || request.method === 'HEAD') {
    if (isHtmx(request)) return await reply.header('hx-redirect', '/console/sign-in').status(204).send()
    return await reply.redirect('/console/sign-in', 303)
  }
  throw new ApiRefusal(401, 'ADMIN_ERR_UNAUTHORIZED', 'sign in first (the session ended or was never there)')
}

function internalRefusal (err: Error & { statusCode?: number }, request: FastifyRequest, log: Logger): ApiRefusal {
  const status = err.statusCode ?? 500
  if (status < 500) return new ApiRefusal(status, status === 413 ? 'ADMIN_ERR_TOO_LARGE' : status === 415 ? 'ADMIN_ERR_MEDIA_TYPE' : 'ADMIN_ERR_BAD_REQUEST', 'the request could not be read')
  // The cause is logged, never shown (it could hold anything).
  log.error({ event: 'console.error', code: 'ADMIN_ERR_INTERNAL', err, method: request.method, url: pathOf(request) }, 'console request failed')
  return new ApiRefusal(500, 'ADMIN_ERR_INTERNAL', 'the console failed; the cause is in the gateway log')
}
