import { createHash, randomBytes } from 'node:crypto'
import { CertsError } from '../errors.js'
import { parseIdentityName } from '../names.js'
import type { Actor, OrgRegistry } from '../org-registry.js'
import type { EnrollTokenRecord } from '../records.js'
import { DAY_MS, MINUTE_MS, parseDuration } from './duration.js'

/**
 * One-time enrollment tokens (`mqgate enroll-token create`), for the
 * trusted-user flow: a backend that has authenticated a person mints a token
 * bound to one identity; the device (or phone) sends it as the HTTP Basic
 * password of an EST simpleenroll (RFC 7030 3.2.3). Only its SHA-256 is
 * stored, and it is never logged: the audit names the hash's first 16 digits.
 */

export const DEFAULT_TOKEN_TTL = '15m'
const TOKEN_PREFIX = 'mqet_'

export interface CreatedToken {
  /** The token itself: handed to the caller once, never stored. */
  readonly token: string
  readonly record: EnrollTokenRecord
}

export async function createEnrollToken (registry: OrgRegistry, orgId: string, request: { readonly commonName: string, readonly ttl?: string }, actor: Actor): Promise<CreatedToken> {
  registry.require(orgId)
  if (parseIdentityName(request.commonName) === undefined) {
    throw new CertsError('CERTS_ERR_NAME_INVALID', 'the CN must be d:<type>:<id>, g:<type>:<id> or a:<app>, each name 1-64 characters of A-Z a-z 0-9 . _ -')
  }
  const ttlMs = parseDuration(request.ttl ?? DEFAULT_TOKEN_TTL, { minMs: MINUTE_MS, maxMs: 30 * DAY_MS }, 'CERTS_ERR_TOKEN_TTL_INVALID')
  // 256 bits: guessing one is hopeless, so the EST route needs no attempt counter of its own.
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url')
  const now = new Date()
  const record: EnrollTokenRecord = {
    id: tokenHash(token),
    commonName: request.commonName,
    expiresAt: new Date(now.getTime() + ttlMs).toISOString(),
    createdAt: now.toISOString(),
    createdBy: actor
  }
  await registry.store.put(orgId, 'enroll-tokens', record, { quiet: true })
  registry.audit(actor, 'enroll-token.create', orgId, { tokenHash: record.id.slice(0, 16), commonName: record.commonName, expiresAt: record.expiresAt })
  return { token, record }
}

/** The key a token's record is stored under, or undefined for what cannot be a token (so no lookup is made). */
export function tokenIdOf (token: string): string | undefined {
  return token.startsWith(TOKEN_PREFIX) && /^[A-Za-z0-9_-]{10,200}$/.test(token) ? tokenHash(token) : undefined
}

/** Why this token cannot enroll `commonName` now, or undefined when it can. */
export function tokenRefusal (record: EnrollTokenRecord | undefined, commonName: string, now: Date): CertsError | undefined {
  if (record === undefined) return new CertsError('CERTS_ERR_TOKEN_INVALID', 'no such enrollment token in this organisation')
  if (record.usedAt !== undefined) return new CertsError('CERTS_ERR_TOKEN_USED', 'the enrollment token has already been used')
  if (Date.parse(record.expiresAt) <= now.getTime()) return new CertsError('CERTS_ERR_TOKEN_EXPIRED', 'the enrollment token has expired')
  if (record.commonName !== commonName) return new CertsError('CERTS_ERR_TOKEN_CN_MISMATCH', `the enrollment token is bound to another identity than ${commonName.slice(0, 100)}`)
  return undefined
}

function tokenHash (token: string): string {
  return createHash('sha256').update(token).digest('hex')
}
