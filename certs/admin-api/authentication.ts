import { createHash, timingSafeEqual } from 'node:crypto'
import { hashToken, tokenId, type Principal } from './operators/operator.js'
import type { OperatorAdmin } from './operators/operator-admin.js'

/**
 * Who a token belongs to: the bootstrap token is an admin; any other must be
 * an active operator's, read from the store now. The API checks a bearer
 * token with it on every request; the console checks a token once at sign-in
 * and keeps only its Credential (a hash), re-checked on every request, so a
 * revoked or rotated operator's console session ends with its token. An
 * operator that set a password may sign in to the console with its name and
 * password instead; that session keeps the digest of the stored password
 * hash, so it ends when the password is changed or cleared, or the operator
 * revoked, but not when the token is rotated (the password is its own
 * credential, kept through a rotation).
 */
export class Authentication {
  constructor (private readonly bootstrapToken: string, private readonly operators: OperatorAdmin) {}

  async principalOf (presented: string): Promise<Principal | undefined> {
    if (presented === '') return undefined
    if (digestsMatch(digest(presented), digest(this.bootstrapToken))) return BOOTSTRAP
    return await this.operators.authenticate(presented)
  }

  /** What a console session keeps of a token that signed in: its SHA-256 and, for an operator, the record id. */
  credentialOf (presented: string): Credential {
    return { kind: 'token', operatorId: tokenId(presented), tokenHash: hashToken(presented) }
  }

  /** An operator's name and password: its principal and what its console session keeps, or undefined (after the same scrypt either way). */
  async passwordSignIn (name: string, password: string): Promise<{ principal: Principal, credential: Credential } | undefined> {
    const signedIn = await this.operators.authenticatePassword(name, password)
    if (signedIn === undefined) return undefined
    return { principal: signedIn.principal, credential: { kind: 'password', operatorId: signedIn.operatorId, passwordDigest: signedIn.passwordDigest } }
  }

  /** The principal of a credential kept by a session, as its token (or password) would authenticate now. */
  async recheck (credential: Credential): Promise<Principal | undefined> {
    if (credential.kind === 'password') return await this.operators.authenticatePasswordDigest(credential.operatorId, credential.passwordDigest)
    const given = Buffer.from(credential.tokenHash, 'hex')
    if (digestsMatch(given, digest(this.bootstrapToken))) return BOOTSTRAP
    if (credential.operatorId === undefined) return undefined
    return await this.operators.authenticateHash(credential.operatorId, credential.tokenHash)
  }
}

/** What a console session keeps of how it signed in: a token's hash, or a password sign-in's digest of the stored hash. */
export type Credential = TokenCredential | PasswordCredential

export interface TokenCredential {
  /** Absent in sessions made before passwords existed: those are token sessions too. */
  readonly kind?: 'token'
  readonly operatorId: string | undefined
  /** Hex SHA-256 of the token (never the token). */
  readonly tokenHash: string
}

export interface PasswordCredential {
  readonly kind: 'password'
  readonly operatorId: string
  /** Hex SHA-256 of the operator's stored scrypt hash (never the password, never the hash itself). */
  readonly passwordDigest: string
}

const BOOTSTRAP: Principal = Object.freeze({ name: 'admin', role: 'admin', orgs: Object.freeze([]), bootstrap: true })

/** The bearer token of an Authorization header, '' when there is none. */
export function bearerOf (header: string | undefined): string {
  return /^Bearer (.+)$/.exec(header ?? '')?.[1] ?? ''
}

function digest (value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

/** Constant time over two 32-byte digests, whatever was presented. */
function digestsMatch (a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}
