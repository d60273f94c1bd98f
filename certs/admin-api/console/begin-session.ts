import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Credential } from '../authentication.js'
import type { ConsoleDeps } from './console-plugin.js'
import { COOKIE_BASE, newCsrfToken, SESSION_COOKIE } from './security.js'

/**
 * A new session for a credential that just proved itself (a sign-in, or a
 * password the session's own operator just changed): a new session id every
 * time (no fixation), and the session this browser had before ends.
 */
export async function beginSession (request: FastifyRequest, reply: FastifyReply, deps: ConsoleDeps, credential: Credential): Promise<void> {
  const earlier = request.cookies[SESSION_COOKIE]
  if (earlier !== undefined && earlier !== '') await deps.sessions.remove(earlier)
  const sessionId = await deps.sessions.create({ credential, csrf: newCsrfToken(), createdAt: new Date().toISOString() })
  void reply.setCookie(SESSION_COOKIE, sessionId, { ...COOKIE_BASE, maxAge: Math.floor(deps.idleMs / 1000) })
}
