import type { FastifyReply, FastifyRequest } from 'fastify'
import { CONSOLE_ROUTE } from '../../access.js'
import { isPasswordBusy } from '../../operators/password-gate.js'
import { beginSession } from '../begin-session.js'
import { ApiRefusal, refusalOf, type PageContext } from '../page-context.js'
import type { ConsolePage } from './index.js'

type PasswordForm = { password?: unknown, confirm?: unknown }
/** The password typed twice at the policy's 1024 characters (12 bytes each, percent-encoded, at worst) fits; more is refused unread (413). */
const PASSWORD_FORM_LIMIT = 32 * 1024

/**
 * The signed-in operator's own account: whether it has a password, set one
 * (typed twice), clear it (`PUT|DELETE /operators/self/password`, as
 * `mqgate operator password`). The session is proof enough: it already holds
 * every power of its operator, so asking for the current password would
 * protect nothing the session cannot do otherwise (README, Web console).
 * A session that signed in with the password it changes continues with the
 * new one (a new session, signed in by it); clearing it ends that session.
 */
export const accountPage: ConsolePage = ({ app, context, deps, whoOf }) => {
  const page = async (request: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200): Promise<FastifyReply> => {
    const me = await context.api(request, { method: 'GET', url: '/operators/self' })
    return await context.render(request, reply, 'account', { title: 'Account', me, signedInWith: whoOf(request).signedInWith, ...extra }, status)
  }

  app.get('/account', CONSOLE_ROUTE, async (request, reply) => await page(request, reply))

  app.post<{ Body: PasswordForm }>('/account/password', { ...CONSOLE_ROUTE, bodyLimit: PASSWORD_FORM_LIMIT }, async (request, reply) => {
    const password = typeof request.body?.password === 'string' ? request.body.password : ''
    if (password !== request.body?.confirm) {
      return await page(request, reply, { refusal: new ApiRefusal(400, 'ADMIN_ERR_PASSWORD_MISMATCH', 'the two passwords differ: type the same one twice') }, 400)
    }
    const answer = await context.apiAnswer(request, { method: 'PUT', url: '/operators/self/password', body: { password } })
    if (answer.status >= 300) return await refused(request, reply, answer, page)
    const who = whoOf(request)
    if (who.signedInWith === 'password') {
      // The old password's session just ended with the stored hash: continue in a new one, signed in by the new password.
      // The process's password checks full (password-gate.ts): the password is set, this browser signs in again with it.
      const signedIn = await deps.authentication.passwordSignIn(who.principal.name, password).catch(unlessBusy)
      if (signedIn !== undefined) await beginSession(request, reply, deps, signedIn.credential)
    }
    return context.redirect(reply, '/console/account')
  })

  app.post('/account/password/clear', CONSOLE_ROUTE, async (request, reply) => {
    const answer = await context.apiAnswer(request, { method: 'DELETE', url: '/operators/self/password' })
    if (answer.status >= 300) return await refused(request, reply, answer, page)
    // A session signed in by the cleared password has ended: the next page is the sign-in form.
    return context.redirect(reply, whoOf(request).signedInWith === 'password' ? '/console/sign-in' : '/console/account')
  })
}

function unlessBusy (err: unknown): undefined {
  if (isPasswordBusy(err)) return undefined
  throw err
}

type AccountRender = (request: FastifyRequest, reply: FastifyReply, extra?: Record<string, unknown>, status?: number) => Promise<FastifyReply>

/** A refusal the operator can act on (a weak password, the bootstrap token's) is shown on the page; a session's or access refusal is the error page. */
async function refused (request: FastifyRequest, reply: FastifyReply, answer: Awaited<ReturnType<PageContext['apiAnswer']>>, page: AccountRender): Promise<FastifyReply> {
  const refusal = refusalOf(answer)
  if (refusal.status === 401) throw refusal
  return await page(request, reply, { refusal }, refusal.status)
}
