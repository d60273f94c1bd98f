import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyReply } from 'fastify'
import { CONSOLE_ROUTE } from '../../access.js'
import type { Authentication, Credential } from '../../authentication.js'
import { ADMIN_STATUS } from '../../errors.js'
import type { Principal } from '../../operators/operator.js'
import { PASSWORD_MAX_UNITS } from '../../operators/password.js'
import { isPasswordBusy } from '../../operators/password-gate.js'
import { beginSession } from '../begin-session.js'
import { COOKIE_BASE, csrfMatches, newCsrfToken, SESSION_COOKIE } from '../security.js'
import { SignInThrottle, type SignInRefusalCode } from '../sign-in-throttle.js'
import type { ConsolePage } from './index.js'

/** The sign-in form's own CSRF token (no session yet): a cookie and a hidden field that must match (double submit). */
const SIGN_IN_COOKIE = 'mqgate_console_sign_in'
const PASSWORD_BUSY = 'ADMIN_ERR_PASSWORD_BUSY'
const SIGNED_OUT = { config: { access: 'console', signedOut: true } } as const
/**
 * The sign-in's body, in bytes: a token, a name and a password of the policy's
 * 1024 characters (12 bytes each, percent-encoded, at worst) fit; a megabyte of
 * combining marks does not reach a parser (413 ADMIN_ERR_TOO_LARGE).
 */
export const SIGN_IN_BODY_LIMIT = 16 * 1024
/** A longer field (in UTF-16 units) is no token, name nor password of anybody: checked as an empty one, after the same scrypt. */
const SIGN_IN_FIELD_MAX = PASSWORD_MAX_UNITS

const NOT_TRIED: Readonly<Record<SignInRefusalCode, string>> = Object.freeze({
  ADMIN_ERR_SIGN_IN_BUSY: 'too many sign-ins from this address at once: wait for their answers, then try again',
  ADMIN_ERR_SIGN_IN_RATE: 'too many sign-ins from this address within a minute: try again in a minute'
})

type SignInForm = { token?: unknown, name?: unknown, password?: unknown, _csrf?: string }

/**
 * Sign-in with an operator token (or the bootstrap token), or with an
 * operator's name and the password it set, checked by the admin API's own
 * Authentication; the session keeps a hash only. A failure of either kind is
 * logged with its code and the address's count, and answered after a delay
 * that grows per address and per name (sign-in-throttle.ts), with one message that does
 * not tell which part was wrong nor whether the name exists. An address with
 * too many attempts in flight, or too many sign-ins this minute, is refused
 * (429) before anything is checked; a password sign-in while the process's
 * password checks are full (password-gate.ts) is refused with 503.
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

  app.post<{ Body: SignInForm }>('/sign-in', { ...SIGNED_OUT, bodyLimit: SIGN_IN_BODY_LIMIT }, async (request, reply) => {
    if (!csrfMatches(request.body?._csrf, request.cookies[SIGN_IN_COOKIE] ?? '')) {
      return await form(reply, 403, { code: 'ADMIN_ERR_CSRF', message: 'the sign-in form expired or came from elsewhere: try again' })
    }
    const method = request.body?.password === undefined ? 'token' : 'password'
    const refused = throttle.begin(request.ip)
    if (refused !== undefined) {
      // Not tried at all (no scrypt, no delay): the address is over a limit of sign-in-throttle.ts.
      deps.log.warn({ event: 'console.sign-in-refused', code: refused, method, remoteAddress: request.ip }, 'console sign-in not tried')
      return await form(reply, ADMIN_STATUS[refused], { code: refused, message: NOT_TRIED[refused] })
    }
    try {
      const signedIn = await signInOf(request.body ?? {}, deps.authentication).catch(busyOrThrow)
      if (signedIn === 'busy') {
        // Not a failure of this address nor name: the process's password checks are full (password-gate.ts).
        deps.log.warn({ event: 'console.sign-in-refused', code: PASSWORD_BUSY, method, remoteAddress: request.ip }, 'console sign-in not tried')
        return await form(reply, ADMIN_STATUS[PASSWORD_BUSY], { code: PASSWORD_BUSY, message: 'too many password sign-ins on this gateway at once: try again in a moment' })
      }
      if (signedIn === undefined) {
        const { failures, nameFailures, delayMs } = throttle.failed(request.ip, method === 'password' ? nameOf(request.body ?? {}) : undefined)
        // Neither the token, the name nor the password: a name field may hold a mistyped password, so only its count is logged.
        deps.log.warn({ event: 'console.sign-in-failed', code: 'ADMIN_ERR_UNAUTHORIZED', method, remoteAddress: request.ip, failures, nameFailures, delayMs }, 'console sign-in refused')
        await sleep(delayMs)
        return await form(reply, 401, { code: 'ADMIN_ERR_UNAUTHORIZED', message: 'that token, or that name and password, is not an active operator\'s' })
      }
      throttle.succeeded(request.ip)
      await beginSession(request, reply, deps, signedIn.credential)
      deps.log.info({ event: 'console.signed-in', operator: signedIn.principal.name, role: signedIn.principal.role, method, remoteAddress: request.ip }, 'console sign-in')
      void reply.clearCookie(SIGN_IN_COOKIE, COOKIE_BASE)
      return context.redirect(reply, '/console/orgs')
    } finally {
      throttle.end(request.ip)
    }
  })

  app.post('/sign-out', CONSOLE_ROUTE, async (request, reply) => {
    const who = whoOf(request)
    await deps.sessions.remove(who.sessionId)
    deps.log.info({ event: 'console.signed-out', operator: who.principal.name, remoteAddress: request.ip }, 'console sign-out')
    void reply.clearCookie(SESSION_COOKIE, COOKIE_BASE)
    return context.redirect(reply, '/console/sign-in')
  })
}

/** The form's password (with the name) when it has one, else its token; undefined when neither is an active operator's. */
async function signInOf (body: SignInForm, authentication: Authentication): Promise<{ principal: Principal, credential: Credential } | undefined> {
  if (body.password !== undefined) {
    // A repeated field arrives as an array: not a name or password, but still one scrypt so it is answered as late.
    return await authentication.passwordSignIn(nameOf(body), fieldOf(body.password))
  }
  const token = fieldOf(body.token).trim()
  const principal = await authentication.principalOf(token)
  return principal === undefined ? undefined : { principal, credential: authentication.credentialOf(token) }
}

function nameOf (body: SignInForm): string {
  return fieldOf(body.name).trim()
}

/** The process's password checks are full: answered as such, anything else thrown on. */
function busyOrThrow (err: unknown): 'busy' {
  if (isPasswordBusy(err)) return 'busy'
  throw err
}

/** A field as one string of at most SIGN_IN_FIELD_MAX units, else '' (an array, a number, a megabyte). */
function fieldOf (value: unknown): string {
  return typeof value === 'string' && value.length <= SIGN_IN_FIELD_MAX ? value : ''
}
