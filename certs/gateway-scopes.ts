import { CertsError } from './errors.js'
import { NAME_PATTERN } from './names.js'
import type { Actor, OrgRegistry } from './org-registry.js'
import type { GatewayScopeRecord, OrgState } from './records.js'

/**
 * Which devices a gateway may act for (`mqgate gateway devices`). Without a
 * record, any device of its organisation, as IBM Watson IoT allows.
 */

/** An empty `allow` removes the limit. */
export async function setGatewayDevices (registry: OrgRegistry, orgId: string, gateway: string, allow: readonly string[], actor: Actor): Promise<GatewayScopeRecord | undefined> {
  registry.require(orgId)
  if (!gateway.split(':').every(part => NAME_PATTERN.test(part)) || gateway.split(':').length > 2) {
    throw new CertsError('CERTS_ERR_GATEWAY_INVALID', 'a gateway is <gatewayId> or <typeId>:<gatewayId>, names of [A-Za-z0-9._-]')
  }
  const entries = allow.map(parseAllowEntry)
  if (entries.length === 0) {
    await registry.store.remove(orgId, 'gateways', gateway)
    registry.audit(actor, 'gateway.devices', orgId, { gateway, allow: 'any' })
    await registry.reload(orgId)
    return undefined
  }
  const record: GatewayScopeRecord = { id: gateway, allow: entries, updatedAt: new Date().toISOString() }
  await registry.store.put(orgId, 'gateways', record)
  registry.audit(actor, 'gateway.devices', orgId, { gateway, allow })
  await registry.reload(orgId)
  return record
}

function parseAllowEntry (entry: string): { typeId: string, id: string } {
  const [typeId, id, extra] = entry.split(':')
  if (extra !== undefined || typeId === undefined || id === undefined || !NAME_PATTERN.test(typeId) || (id !== '*' && !NAME_PATTERN.test(id))) {
    throw new CertsError('CERTS_ERR_ALLOW_INVALID', `"${entry.slice(0, 100)}" is not <typeId>:<deviceId> or <typeId>:*`)
  }
  return { typeId, id }
}

/** The gateway's limit: a record for `<type>:<id>` wins over one for `<id>`; none means any device. */
export function gatewayScopeOf (state: OrgState | undefined, typeId: string, gatewayId: string): 'any' | GatewayScopeRecord['allow'] {
  const record = state?.gateways.find(g => g.id === `${typeId}:${gatewayId}`) ?? state?.gateways.find(g => g.id === gatewayId)
  return record === undefined ? 'any' : record.allow
}
