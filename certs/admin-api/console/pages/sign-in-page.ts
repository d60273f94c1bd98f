import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyReply } from 'fastify'
import { CONSOLE_ROUTE } from '../../access.js'
import { COOKIE_BASE, csrfMatches, newCsrfToken, SESSION_COOKIE } from '../security.js'
import { SignInThrottle } from '../sign-in-throttle.js'
import type { ConsolePage } from './index.js'

/** The sign-in form's own CSRF token (no session yet): a cookie and a hidden field that must match (double submit). */
const SIGN_IN_COOKIE = 'mqgate_console_sign_in'
const SIGNED_OUT = { config: { access: 'console', signedOut: true } } as const

/**
 * Sign-in with an operator token (or the bootstrap token), checked by the
 * admin API's own Authentication; the session keeps the token's hash only.
 * A failure is logged with its code and the address's count, and answered
 * after a delay that grows per address (sign-in-throttle.ts).
 */
export const signInPage: ConsolePage = ({ app, context, deps, whoOf }) => {
  const throttle = new SignInThrottle()
  const form = async (reply: FastifyReply, status: number, refusal?: { code: string, message: string }): Promise<FastifyReply> => {
    const formToken = newCsrfToken()
    void reply.setCookie(SIGN_IN_COOKIE, formToken, { ...COOKIE_BASE, maxAge: 3600 })
    return await reply.status(status).type('text/html; charset=utf-8').view('sign-in', { title: 'Sign in', formToken, refusal, operator: undefined, orgPages: [] })
  }

  app.get('/', CONSOLE_ROUTE, async (_request, reply) => context.redirect(reply, '/console/orgs'))
  app.get('/sign-in', SIGNED_OUT, async (_request, reply) => await form(reply, 200))

  app.post<{ Body: { token?: string, _csrf?: string } }>('/sign-in', SIGNED_OUT, async (request, reply) => {
    if (!csrfMatches(request.body?._csrf, request.cookies[SIGN_IN_COOKIE] ?? '')) {
      return await form(reply, 403, { code: 'ADMIN_ERR_CSRF', message: 'the sign-in form expired or came from elsewhere: try again' })
    }
    const token = (request.body?.token ?? '').trim()
    const principal = await deps.authentication.principalOf(token)
    if (principal === undefined) {
      const { failures, delayMs } = throttle.failed(request.ip)
      deps.log.warn({ event: 'console.sign-in-failed', code: 'ADMIN_ERR_UNAUTHORIZED', remoteAddress: request.ip, failures, delayMs }, 'console sign-in refused')
      await sleep(delayMs)
      return await form(reply, 401, { code: 'ADMIN_ERR_UNAUTHORIZED', message: 'that token is not an active operator\'s' })
    }
    throttle.succeeded(request.ip)
    // A new session id at every sign-in (no fixation); a session this browser had before ends.
    const earlier = request.cookies[SESSION_COOKIE]
    if (earlier !== undefined && earlier !== '') await deps.sessions.remove(earlier)
    const sessionId = await deps.sessions.create({ credential: deps.authentication.credentialOf(token), csrf: newCsrfToken(), createdAt: new Date().toISOString() })
    deps.log.info({ event: 'console.signed-in', operator: principal.name, role: principal.role, remoteAddress: request.ip }, 'console sign-in')
    void reply.clearCookie(SIGN_IN_COOKIE, COOKIE_BASE)
    void reply.setCookie(SESSION_COOKIE, sessionId, { ...COOKIE_BASE, maxAge: Math.floor(deps.idleMs / 1000) })
    return context.redirect(reply, '/console/orgs')
  })

  app.post('/sign-out', CONSOLE_ROUTE, async (request, reply) => {
    const who = whoOf(request)
    await deps.sessions.remove(who.sessionId)
    deps.log.info({ event: 'console.signed-out', operator: who.principal.name, remoteAddress: request.ip }, 'console sign-out')
    void reply.clearCookie(SESSION_COOKIE, COOKIE_BASE)
    return context.redirect(reply, '/console/sign-in')
  })
}
