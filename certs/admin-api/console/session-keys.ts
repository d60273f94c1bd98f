import { createHash, randomBytes } from 'node:crypto'
import type { Credential } from '../authentication.js'
import type { ConsoleSession } from './session-store.js'

/**
 * What both session stores share: the id (the cookie's value), the key a
 * store keeps it under (the id's SHA-256, so a dump of the store yields no
 * cookie to replay), the operator a session counts against, and the end of
 * its absolute lifetime.
 */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/

export function newSessionId (): string {
  return randomBytes(32).toString('base64url')
}

/** Hex SHA-256 of the id; an id of another shape hashes to a key no session has. */
export function keyOf (id: string): string {
  return createHash('sha256').update(SESSION_ID.test(id) ? id : '').digest('hex') + (SESSION_ID.test(id) ? '' : '-')
}

/**
 * Whose sessions a session counts among (for the per-operator cap): the
 * operator's record id, the same for its token and its password; the bootstrap
 * token has no record, its sessions count together.
 */
export function ownerOf (credential: Credential): string {
  return credential.operatorId ?? 'bootstrap'
}

/** Whether the session has outlived `maxAgeMs` since it was made, however busy it was (an unreadable time counts as outlived). */
export function outlived (session: ConsoleSession, maxAgeMs: number, now = Date.now()): boolean {
  const created = Date.parse(session.createdAt)
  return !Number.isFinite(created) || now - created >= maxAgeMs
}
