import { CertsError } from '../errors.js'
import { issue, orgAuthority, type Issued } from '../issuance.js'
import { revokeCert } from '../issuer.js'
import { claimCommonName, NAME_PATTERN } from '../names.js'
import type { Actor, OrgRegistry } from '../org-registry.js'
import type { ClaimRecord } from '../records.js'
import { DAY_MS, MINUTE_MS, parseDuration } from './duration.js'
import { changeRecord } from './record-change.js'

/**
 * Claims (`mqgate claim ...`): a claim certificate `c:<name>` that factories
 * put on every device of a batch, good for one thing only: enrolling a
 * device identity of the claim's types (enroll.ts). Issued through the one
 * issuance path (kind `claim`), so it is recorded, audited and revocable.
 */

export interface ClaimRequest {
  readonly name: string
  readonly types: readonly string[]
  /** Absent: no limit. */
  readonly maxUses?: number
  /** `30d` (the default), `12h`, ...: the claim's lifetime, and its certificate's (rounded up to whole days). */
  readonly expires?: string
}

export interface CreatedClaim {
  readonly claim: ClaimRecord
  /** The claim certificate and its generated key: handed over once, the key never stored. */
  readonly issued: Issued
}

export const DEFAULT_CLAIM_LIFETIME = '30d'
const MAX_USES = 1_000_000_000

export async function createClaim (registry: OrgRegistry, orgId: string, request: ClaimRequest, actor: Actor): Promise<CreatedClaim> {
  registry.require(orgId)
  const lifetimeMs = validateClaimRequest(request)
  if (await registry.store.get(orgId, 'claims', request.name) !== undefined) {
    throw new CertsError('CERTS_ERR_CLAIM_EXISTS', `organisation ${orgId} already has a claim ${request.name}`)
  }
  const issued = await issue(orgAuthority(registry, orgId), {
    kind: 'claim', profile: 'client', names: [claimCommonName(request.name)], keyType: 'ec', days: Math.ceil(lifetimeMs / DAY_MS)
  }, actor)
  const now = new Date()
  const claim: ClaimRecord = {
    id: request.name,
    types: [...new Set(request.types)],
    ...(request.maxUses === undefined ? {} : { maxUses: request.maxUses }),
    uses: 0,
    expiresAt: new Date(now.getTime() + lifetimeMs).toISOString(),
    certId: issued.record.id,
    fingerprint: issued.record.fingerprint,
    createdAt: now.toISOString(),
    createdBy: actor
  }
  await registry.store.put(orgId, 'claims', claim, { quiet: true })
  registry.audit(actor, 'claim.create', orgId, { claim: claim.id, types: claim.types, maxUses: claim.maxUses ?? null, expiresAt: claim.expiresAt, certId: claim.certId, fingerprint: claim.fingerprint })
  return { claim, issued }
}

export async function listClaims (registry: OrgRegistry, orgId: string): Promise<ClaimRecord[]> {
  registry.require(orgId)
  return (await registry.store.list(orgId, 'claims')).sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id))
}

export async function findClaim (registry: OrgRegistry, orgId: string, name: string): Promise<ClaimRecord> {
  registry.require(orgId)
  const claim = NAME_PATTERN.test(name) ? await registry.store.get(orgId, 'claims', name) : undefined
  if (claim === undefined) throw new CertsError('CERTS_ERR_CLAIM_NOT_FOUND', `organisation ${orgId} has no claim ${name.slice(0, 100)}`)
  return claim
}

/** Revokes the claim, then its certificate (live sessions closed, refused everywhere at once). */
export async function revokeClaim (registry: OrgRegistry, orgId: string, name: string, actor: Actor): Promise<ClaimRecord> {
  await findClaim(registry, orgId, name)
  const claim = await changeRecord(registry.store, orgId, 'claims', name, current => {
    if (current === undefined) throw new CertsError('CERTS_ERR_CLAIM_NOT_FOUND', `organisation ${orgId} has no claim ${name}`)
    return current.revokedAt === undefined ? { ...current, revokedAt: new Date().toISOString() } : current
  })
  registry.audit(actor, 'claim.revoke', orgId, { claim: claim.id, uses: claim.uses, certId: claim.certId, fingerprint: claim.fingerprint })
  await revokeCert(registry, orgId, claim.certId, actor)
  return claim
}

export type ClaimState = 'active' | 'revoked' | 'expired' | 'exhausted'

export function claimStateOf (claim: ClaimRecord, now = new Date()): ClaimState {
  if (claim.revokedAt !== undefined) return 'revoked'
  if (Date.parse(claim.expiresAt) <= now.getTime()) return 'expired'
  return claim.maxUses !== undefined && claim.uses >= claim.maxUses ? 'exhausted' : 'active'
}

/** Returns the lifetime in milliseconds. */
function validateClaimRequest (request: ClaimRequest): number {
  if (!NAME_PATTERN.test(request.name)) throw new CertsError('CERTS_ERR_CLAIM_INVALID', 'a claim name is 1-64 characters of A-Z a-z 0-9 . _ -')
  if (request.types.length === 0 || request.types.length > 100 || !request.types.every(t => NAME_PATTERN.test(t))) {
    throw new CertsError('CERTS_ERR_CLAIM_INVALID', 'a claim lists 1-100 device types, each 1-64 characters of A-Z a-z 0-9 . _ -')
  }
  if (request.maxUses !== undefined && (!Number.isInteger(request.maxUses) || request.maxUses < 1 || request.maxUses > MAX_USES)) {
    throw new CertsError('CERTS_ERR_CLAIM_INVALID', `--max-uses is a whole number from 1 to ${MAX_USES}`)
  }
  return parseDuration(request.expires ?? DEFAULT_CLAIM_LIFETIME, { minMs: MINUTE_MS, maxMs: 3650 * DAY_MS }, 'CERTS_ERR_CLAIM_INVALID')
}
