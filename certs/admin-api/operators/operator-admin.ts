import type { Logger } from 'pino'
import type { OrgRegistry } from '../../org-registry.js'
import { AdminError } from '../errors.js'
import { hashMatches, isOperatorName, mintToken, principalOf, ROLES, tokenId, tokenMatches, type OperatorRecord, type Principal, type Role } from './operator.js'
import { activeOperatorOfName, claimOperatorName } from './operator-names.js'
import type { OperatorStore } from './operator-store.js'
import { DUMMY_PASSWORD_HASH, hashPassword, passwordDigestMatches, passwordHashDigest, passwordRefusal, verifyPassword } from './password.js'

/** What create and rotate answer, the one time the token is shown. */
export interface OperatorCredential {
  readonly name: string
  readonly role: Role
  readonly orgs: readonly string[]
  readonly token: string
}

/** An operator signed in by name and password: what a console session keeps is the record id and the digest of the stored hash. */
export interface PasswordSignIn {
  readonly principal: Principal
  readonly operatorId: string
  readonly passwordDigest: string
}

/**
 * The operator verbs. Changes are audited (event `audit`, the acting
 * operator as `actor`); no token or hash ever reaches a log line. A name is
 * held by one active operator at the store (operator-names.ts), whatever
 * the processes sharing it do; changes are also serialised in this process.
 */
export class OperatorAdmin {
  private turn: Promise<unknown> = Promise.resolve()

  constructor (private readonly store: OperatorStore, private readonly registry: OrgRegistry, private readonly log: Logger) {}

  async create (name: string, role: string, orgs: readonly string[], actor: string): Promise<OperatorCredential> {
    return await this.inTurn(async () => {
      const checked = this.validate(name, role, orgs)
      const { id, token, tokenHash } = mintToken()
      const record: OperatorRecord = { id, name, role: checked.role, orgs: checked.orgs, tokenHash, createdAt: new Date().toISOString() }
      // Written before the name is claimed (operator-names.ts); removed again unless the name is its.
      await this.store.put(record)
      const holder = await claimOperatorName(this.store, name).catch(async (err: unknown) => { await this.store.delete(id).catch(() => {}); throw err })
      if (holder !== id) {
        await this.store.delete(id)
        throw new AdminError('ADMIN_ERR_OPERATOR_EXISTS', `operator ${name} exists; revoke it first or rotate its token`)
      }
      this.audit(actor, 'operator.create', record)
      return { name, role: record.role, orgs: record.orgs, token }
    })
  }

  async list (): Promise<OperatorRecord[]> {
    return (await this.store.list()).sort((a, b) => a.name.localeCompare(b.name) || a.createdAt.localeCompare(b.createdAt))
  }

  async revoke (name: string, actor: string): Promise<OperatorRecord> {
    return await this.inTurn(async () => {
      const record = { ...await this.require(name), revokedAt: new Date().toISOString() }
      await this.store.put(record)
      // After the record: a release that never comes leaves a claim of a revoked record, which a create takes over.
      await this.store.releaseName(name, record.id)
      this.audit(actor, 'operator.revoke', record)
      return record
    })
  }

  /** A new secret under the same id: the old token stops working with this write. */
  async rotate (name: string, actor: string): Promise<OperatorCredential> {
    return await this.inTurn(async () => {
      const current = await this.require(name)
      const { token, tokenHash } = mintToken(current.id)
      const record = { ...current, tokenHash, rotatedAt: new Date().toISOString() }
      await this.store.put(record)
      this.audit(actor, 'operator.rotate', record)
      return { name, role: record.role, orgs: record.orgs, token }
    })
  }

  /** The operator a presented bearer token belongs to, read from the store now; undefined when none (or revoked). */
  async authenticate (presented: string): Promise<Principal | undefined> {
    const id = tokenId(presented)
    if (id === undefined) return undefined
    const record = await this.store.get(id)
    if (record === undefined || record.revokedAt !== undefined || !tokenMatches(record, presented)) return undefined
    return principalOf(record)
  }

  /** The same, for a console session that kept the token's hash (authentication.ts): undefined once revoked or rotated. */
  async authenticateHash (id: string, tokenHash: string): Promise<Principal | undefined> {
    const record = await this.store.get(id)
    if (record === undefined || record.revokedAt !== undefined || !hashMatches(record, tokenHash)) return undefined
    return principalOf(record)
  }

  /** The record of the operator `who` (its own), undefined for the bootstrap token, which has none. */
  async own (who: Principal): Promise<OperatorRecord | undefined> {
    return who.bootstrap ? undefined : await this.require(who.name)
  }

  /**
   * Sets (a string) or clears (undefined) the password of the operator `who`
   * itself. The bootstrap token has no record to keep one. A new password
   * changes the stored hash, so console sessions signed in with the old one end.
   */
  async setPassword (who: Principal, password: string | undefined, actor: string): Promise<OperatorRecord> {
    if (who.bootstrap) throw new AdminError('ADMIN_ERR_BOOTSTRAP_NO_PASSWORD', 'the bootstrap token is no operator of the store and has no password: create an operator (mqgate operator create) and set its password with its token')
    const refusal = password === undefined ? undefined : passwordRefusal(password)
    if (refusal !== undefined) throw new AdminError('ADMIN_ERR_PASSWORD_WEAK', refusal)
    // Hashed before taking the turn: scrypt's 100 ms need not hold up other operator changes.
    const passwordHash = password === undefined ? undefined : await hashPassword(password)
    return await this.writePassword(who.name, passwordHash, actor)
  }

  /**
   * An admin clears another operator's password (`DELETE
   * /operators/:name/password`): after a token leak, rotating the token leaves
   * whatever password the token's holder set; this ends it, and the console
   * sessions signed in with it, without revoking the operator.
   */
  async clearPassword (name: string, actor: string): Promise<OperatorRecord> {
    return await this.writePassword(name, undefined, actor)
  }

  /**
   * The active operator of a name and password, read from the store now;
   * undefined when there is none, it has no password, or the password is
   * wrong. Every refusal costs one scrypt (an unknown name's against a dummy
   * hash), so its time does not tell whether the name exists.
   */
  async authenticatePassword (name: string, password: string): Promise<PasswordSignIn | undefined> {
    const record = isOperatorName(name) ? await activeOperatorOfName(this.store, name) : undefined
    const stored = record?.passwordHash
    const matches = await verifyPassword(stored ?? DUMMY_PASSWORD_HASH, password)
    if (record === undefined || stored === undefined || !matches) return undefined
    return { principal: principalOf(record), operatorId: record.id, passwordDigest: passwordHashDigest(stored) }
  }

  /** The same, for a console session that kept the digest of the stored hash: undefined once revoked, or the password changed or cleared. */
  async authenticatePasswordDigest (id: string, passwordDigest: string): Promise<Principal | undefined> {
    const record = await this.store.get(id)
    if (record === undefined || record.revokedAt !== undefined || record.passwordHash === undefined) return undefined
    return passwordDigestMatches(record.passwordHash, passwordDigest) ? principalOf(record) : undefined
  }

  private async writePassword (name: string, passwordHash: string | undefined, actor: string): Promise<OperatorRecord> {
    return await this.inTurn(async () => {
      const current = withoutPassword(await this.require(name))
      const record = passwordHash === undefined ? current : { ...current, passwordHash, passwordSetAt: new Date().toISOString() }
      await this.store.put(record)
      this.audit(actor, passwordHash === undefined ? 'operator.password-clear' : 'operator.password-set', record)
      return record
    })
  }

  private validate (name: string, role: string, orgs: readonly string[]): { role: Role, orgs: string[] } {
    if (!isOperatorName(name)) throw new AdminError('ADMIN_ERR_OPERATOR_INVALID', 'an operator name is 1-64 letters, digits, . _ @ -, starting with a letter or digit')
    // /operators/self/... are the caller's own routes: an operator of that name could not be reached by /operators/:name/... .
    if (name === RESERVED_NAME) throw new AdminError('ADMIN_ERR_OPERATOR_INVALID', `the operator name ${RESERVED_NAME} is reserved: /operators/${RESERVED_NAME} is the caller's own record`)
    if (!(ROLES as readonly string[]).includes(role)) throw new AdminError('ADMIN_ERR_OPERATOR_INVALID', `role must be one of ${ROLES.join(', ')}`)
    const unique = [...new Set(orgs)].sort()
    if (role === 'admin' && unique.length > 0) throw new AdminError('ADMIN_ERR_OPERATOR_INVALID', 'an admin has every organisation: give no --org')
    if (role !== 'admin' && unique.length === 0) throw new AdminError('ADMIN_ERR_OPERATOR_INVALID', `a ${role} needs at least one organisation (--org)`)
    // An operator of an organisation that does not exist would silently gain it when someone creates it.
    for (const orgId of unique) this.registry.require(orgId)
    return { role: role as Role, orgs: unique }
  }

  private async require (name: string): Promise<OperatorRecord> {
    const record = await activeOperatorOfName(this.store, name)
    if (record === undefined) throw new AdminError('ADMIN_ERR_OPERATOR_NOT_FOUND', `no active operator ${name.slice(0, 64)}`)
    return record
  }

  /** Never the password nor its hash: only who did what to which operator. */
  private audit (actor: string, action: string, record: OperatorRecord): void {
    this.log.info({ event: 'audit', actor, action, orgId: null, operator: record.name, role: record.role, orgs: record.orgs }, action)
  }

  private async inTurn<T> (step: () => Promise<T>): Promise<T> {
    const result = this.turn.then(step)
    this.turn = result.catch(() => {})
    return await result
  }
}

/** The name the self routes hold in /operators/:name's place. */
const RESERVED_NAME = 'self'

function withoutPassword (record: OperatorRecord): OperatorRecord {
  const { passwordHash, passwordSetAt, ...rest } = record
  return rest
}
