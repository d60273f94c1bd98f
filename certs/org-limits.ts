import { CertsError } from './errors.js'
import type { Actor, OrgRegistry } from './org-registry.js'
import type { OrgLimitsRecord, OrgState } from './records.js'

/**
 * An organisation's share of a gateway (`mqgate org limits`), so that one
 * tenant cannot starve the others: at most so many MQTT sessions, and so many
 * PUBLISH packets per second for all its clients together. Stored in the
 * organisation's record, so that every broker process sharing the registry
 * applies a change at its next decision, and backups carry it. None by
 * default, as EMQX and AWS IoT leave a tenant's quota to the operator.
 */

export const ORG_LIMIT_NAMES = ['connections', 'publishRate'] as const
export type OrgLimitName = typeof ORG_LIMIT_NAMES[number]

/** The limits in force: a name that is absent is no limit. */
export type OrgLimits = Partial<Record<OrgLimitName, number>>

/** A change as the API receives it: a number sets a limit, null lifts it, an absent name keeps it. */
export type OrgLimitsChange = Partial<Record<OrgLimitName, unknown>>

/** Far above any real fleet; it keeps a typo (or an overflow) out of the registry. */
export const ORG_LIMIT_MAX = 1_000_000_000

/**
 * Applies the change (checked whole first: a bad value changes nothing),
 * writes the organisation's record, audits it, and reloads, so this process
 * applies it at once and the store's watch tells every other.
 */
export async function setOrgLimits (registry: OrgRegistry, orgId: string, change: OrgLimitsChange, actor: Actor): Promise<OrgLimits> {
  registry.require(orgId)
  const named = ORG_LIMIT_NAMES.filter(name => change[name] !== undefined)
  if (named.length === 0) throw new CertsError('CERTS_ERR_LIMIT_INVALID', 'name a limit to set or lift: connections, publish rate')
  const checked = Object.fromEntries(named.map(name => [name, checkLimit(name, change[name])])) as Partial<Record<OrgLimitName, number | null>>
  // Read from the store, not memory: another process may have just changed another field of the record.
  const org = (await registry.store.readOrg(orgId))?.org ?? registry.require(orgId).org
  const limits = { ...orgLimitsOf({ org }) }
  for (const name of named) {
    const value = checked[name]
    if (value === null || value === undefined) delete limits[name]
    else limits[name] = value
  }
  const record: OrgLimitsRecord = { ...limits, updatedAt: new Date().toISOString() }
  const { limits: _previous, ...rest } = org
  await registry.store.updateOrg(Object.keys(limits).length === 0 ? rest : { ...rest, limits: record })
  registry.audit(actor, 'org.limits', orgId, { connections: limits.connections ?? 'none', publishRate: limits.publishRate ?? 'none' })
  await registry.reload(orgId)
  return limits
}

/** The organisation's limits in force; a stored value that is not a valid limit (a hand-edited backup) is no limit. */
export function orgLimitsOf (state: Pick<OrgState, 'org'> | undefined): OrgLimits {
  const stored = state?.org.limits
  const limits: OrgLimits = {}
  for (const name of ORG_LIMIT_NAMES) {
    const value = stored?.[name]
    if (isLimit(value)) limits[name] = value
  }
  return limits
}

function checkLimit (name: OrgLimitName, value: unknown): number | null {
  if (value === null) return null
  if (isLimit(value)) return value
  const shown = (JSON.stringify(value) ?? String(value)).slice(0, 40)
  throw new CertsError('CERTS_ERR_LIMIT_INVALID', `${name === 'publishRate' ? 'the publish rate' : 'connections'}: ${shown} is not a whole number from 1 to ${ORG_LIMIT_MAX.toLocaleString('en')} (or none, to lift it)`)
}

function isLimit (value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1 && value <= ORG_LIMIT_MAX
}
