import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { FastifyReply } from 'fastify'

/**
 * The console's answers are pages with no inline script or style (htmx is
 * configured to add none, console.js is a file): a strict policy, no framing,
 * no sniffing, no referrer (a console URL names organisations and CAs), and
 * nothing kept in caches.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'"
].join('; ')

export function addSecurityHeaders (reply: FastifyReply): void {
  void reply.header('content-security-policy', CONTENT_SECURITY_POLICY)
  void reply.header('x-frame-options', 'DENY')
  void reply.header('x-content-type-options', 'nosniff')
  void reply.header('referrer-policy', 'no-referrer')
  void reply.header('cache-control', 'no-store')
}

/** A CSRF token (per session, or per sign-in form): 256 random bits. */
export function newCsrfToken (): string {
  return randomBytes(32).toString('base64url')
}

/** Constant time whatever was presented (both sides hashed to 32 bytes); an absent or empty value never matches. */
export function csrfMatches (presented: unknown, expected: string): boolean {
  if (typeof presented !== 'string' || presented === '' || expected === '') return false
  return timingSafeEqual(sha256(presented), sha256(expected))
}

function sha256 (value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

/** The session's cookie: its value is the session id (session-store.ts). */
export const SESSION_COOKIE = 'mqgate_console'

/** The cookies' attributes: only over HTTPS, never to script, never on another site's request, only under /console. */
export const COOKIE_BASE = Object.freeze({ httpOnly: true, secure: true, sameSite: 'strict' as const, path: '/console' })
