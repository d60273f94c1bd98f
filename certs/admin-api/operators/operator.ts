import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * An operator of the admin API: a name, a role, the organisations it is
 * limited to, and the SHA-256 of its token (never the token: it is shown once,
 * by create and rotate). A token is `mqg_<id>_<secret>`: the id finds the
 * record, the secret (32 random bytes) is compared as a hash. A fast hash is
 * right for a 256-bit random secret: nothing to guess, so nothing to slow down.
 * An operator may also set a password for the console's sign-in, which
 * can be guessed, so it is kept as scrypt (password.ts).
 */

export const ROLES = ['admin', 'org-admin', 'viewer'] as const
export type Role = typeof ROLES[number]

export interface OperatorRecord {
  readonly id: string
  readonly name: string
  readonly role: Role
  /** The organisations an org-admin or a viewer is limited to; empty for an admin (all of them). */
  readonly orgs: readonly string[]
  /** Hex SHA-256 of the whole token. */
  readonly tokenHash: string
  /** The console password the operator set for itself (password.ts: `scrypt$N$r$p$salt$hash`); absent when none. */
  readonly passwordHash?: string
  readonly passwordSetAt?: string
  readonly createdAt: string
  readonly rotatedAt?: string
  readonly revokedAt?: string
}

/** Who is asking: an operator of the store, or the bootstrap token (MQGATE_ADMIN_TOKEN, the data dir's admin-token): an admin. */
export interface Principal {
  readonly name: string
  readonly role: Role
  readonly orgs: readonly string[]
  readonly bootstrap: boolean
}

const TOKEN_PATTERN = /^mqg_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/

export function isOperatorName (value: string): boolean {
  return NAME_PATTERN.test(value)
}

/** A new token for the record `id` (a new id for a new operator, the same id on rotate). */
export function mintToken (id: string = randomBytes(8).toString('hex')): { id: string, token: string, tokenHash: string } {
  const token = `mqg_${id}_${randomBytes(32).toString('base64url')}`
  return { id, token, tokenHash: hashToken(token) }
}

/** The record id a presented token names, or undefined for anything that is not an operator token. */
export function tokenId (presented: string): string | undefined {
  return TOKEN_PATTERN.exec(presented)?.[1]
}

export function hashToken (token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

/** Constant time: both sides are 32-byte digests whatever was presented. */
export function tokenMatches (record: OperatorRecord, presented: string): boolean {
  const stored = Buffer.from(record.tokenHash, 'hex')
  const given = createHash('sha256').update(presented).digest()
  return stored.length === given.length && timingSafeEqual(stored, given)
}

/** The same comparison for a kept hash (a console session's): constant time over two 32-byte digests. */
export function hashMatches (record: OperatorRecord, tokenHash: string): boolean {
  const stored = Buffer.from(record.tokenHash, 'hex')
  const given = Buffer.from(tokenHash, 'hex')
  return stored.length === 32 && stored.length === given.length && timingSafeEqual(stored, given)
}

export function principalOf (record: OperatorRecord): Principal {
  return { name: record.name, role: record.role, orgs: record.orgs, bootstrap: false }
}

/** What the API shows of an operator: never a hash, only whether a password is set. */
export function operatorView (record: OperatorRecord): Record<string, unknown> {
  return {
    name: record.name,
    role: record.role,
    orgs: record.orgs,
    created_at: record.createdAt,
    rotated_at: record.rotatedAt ?? null,
    revoked_at: record.revokedAt ?? null,
    password_set: record.passwordHash !== undefined,
    password_set_at: record.passwordSetAt ?? null
  }
}
