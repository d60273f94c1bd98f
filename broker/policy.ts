import { allowed, refused, type Checked } from './errors.js'
import type { Identity } from '../access/index.js'
import { ANY, type SchemeTopic } from './topics.js'

/**
 * Who may publish and subscribe to what (design.md, "Topics"), on parsed
 * canonical topics. Pure: no aedes, no I/O, so a table tests it.
 *
 * device       publishes its own events, subscribes to its own commands
 * gateway      the same, for itself and the devices it represents
 * application  publishes commands to any device, subscribes to anything, of its organisation
 */

/** The devices a gateway may act for: any device of its organisation, or a list (`id: '*'` for a whole type). */
export type GatewayScope = 'any' | ReadonlyArray<{ readonly typeId: string, readonly id: string }>

export function mayPublish (identity: Identity, topic: SchemeTopic, scope: GatewayScope = 'any'): Checked<SchemeTopic> {
  if (identity.kind === 'application') {
    return topic.kind === 'cmd' ? allowed(topic) : kindForbidden('applications publish commands, not events')
  }
  if (topic.kind !== 'evt') return kindForbidden('devices and gateways publish events, not commands')
  return owns(identity, topic, scope) ? allowed(topic) : notOwned()
}

export function maySubscribe (identity: Identity, filter: SchemeTopic, scope: GatewayScope = 'any'): Checked<SchemeTopic> {
  if (identity.kind === 'application') return allowed(filter)
  if (filter.kind !== 'cmd') return kindForbidden('devices and gateways subscribe to commands only')
  return owns(identity, filter, scope) ? allowed(filter) : notOwned()
}

/** True when every device the topic (or filter) can name is the identity itself or one it represents. */
function owns (identity: Extract<Identity, { kind: 'device' | 'gateway' }>, t: SchemeTopic, scope: GatewayScope): boolean {
  if (t.typeId === identity.typeId && t.id === identity.id) return true
  if (identity.kind !== 'gateway') return false
  if (scope === 'any') return true
  if (t.typeId === ANY) return false
  return scope.some(entry => entry.typeId === t.typeId && (entry.id === '*' || (t.id !== ANY && entry.id === t.id)))
}

function notOwned (): Checked<never> {
  return refused('BROKER_ERR_TOPIC_NOT_OWNED', 'the topic belongs to a device this identity does not represent')
}

function kindForbidden (reason: string): Checked<never> {
  return refused('BROKER_ERR_TOPIC_KIND_FORBIDDEN', reason)
}
