import { NAME_PATTERN } from '../certs/index.js'
import { allowed, refused, type Checked } from './errors.js'
import type { Identity } from '../access/index.js'

/**
 * The IBM Watson IoT topic scheme, in one place.
 *
 * Canonical:  iot-2/type/<typeId>/id/<id>/<evt|cmd>/<name>/fmt/<format>
 * Short form: iot-2/<evt|cmd>/<name>/fmt/<format>, for a device or gateway
 *             about itself; it is rewritten to the canonical form with the
 *             authenticated identity, so subscribers see who really published.
 *
 * Inside the broker every topic is prefixed with `$org/<orgId>/`, so that no
 * topic or filter a client can write reaches another organisation, and `$`
 * keeps first-level wildcards from matching it [MQTT-4.7.2-1].
 */

/** One field of a filter that matches any value. */
export const ANY = '+'

export interface SchemeTopic {
  readonly typeId: string
  readonly id: string
  readonly kind: string
  readonly name: string
  readonly format: string
}

type Slot = keyof SchemeTopic
const CANONICAL: ReadonlyArray<string | Slot> = ['iot-2', 'type', 'typeId', 'id', 'id', 'kind', 'name', 'fmt', 'format']
const SHORT: ReadonlyArray<string | Slot> = ['iot-2', 'kind', 'name', 'fmt', 'format']
// Literal levels of the templates; the others are slots. 'id' is both, told apart by position.
const LITERAL_POSITIONS = { canonical: new Set([0, 1, 3, 7]), short: new Set([0, 3]) }
const KINDS = new Set(['evt', 'cmd'])

// A device publishes on the same few topics again and again: its last one's parse is kept (issue 15: 2 % of the broker's CPU at 68,000 msg/s).
const lastPublishTopic = new WeakMap<Identity, { readonly raw: string, readonly parsed: Checked<SchemeTopic> }>()

/** Parses a PUBLISH topic (no wildcards) into its canonical fields. */
export function parsePublishTopic (raw: string, identity: Identity): Checked<SchemeTopic> {
  const last = lastPublishTopic.get(identity)
  if (last?.raw === raw) return last.parsed
  const parsed = parseScheme(raw, identity, false)
  lastPublishTopic.set(identity, { raw, parsed })
  return parsed
}

/** Parses a SUBSCRIBE filter; `+` fields (and everything under a trailing `#`) come back as ANY. */
export function parseSubscribeFilter (raw: string, identity: Identity): Checked<SchemeTopic> {
  return parseScheme(raw, identity, true)
}

function parseScheme (raw: string, identity: Identity, wildcards: boolean): Checked<SchemeTopic> {
  const levels = raw.split('/')
  if (levels[0] !== 'iot-2' || levels.length < 2) return outside()
  const short = KINDS.has(levels[1])
  if (short && identity.kind === 'application') return outside('the short form iot-2/evt|cmd/... is for devices and gateways')
  const template = short ? SHORT : CANONICAL
  const literal = short ? LITERAL_POSITIONS.short : LITERAL_POSITIONS.canonical
  const fields: Record<string, string> = {}
  let position = 1
  for (; position < template.length; position++) {
    const level = levels[position]
    if (level === undefined) return outside()
    if (wildcards && level === '#' && position === levels.length - 1) break
    const slot = template[position]
    if (literal.has(position)) {
      if (level !== slot && !(wildcards && level === ANY)) return outside()
      continue
    }
    if (wildcards && level === ANY) fields[slot] = ANY
    else if (slot === 'kind' && !KINDS.has(level)) return outside()
    else if (!NAME_PATTERN.test(level)) return refused('BROKER_ERR_TOPIC_LEVEL_INVALID', 'a topic level must be 1-64 characters of A-Z a-z 0-9 . _ -')
    else fields[slot] = level
  }
  if (position === template.length && levels.length > template.length) return outside()
  for (; position < template.length; position++) {
    if (!literal.has(position)) fields[template[position]] = ANY
  }
  if (short && identity.kind !== 'application') {
    fields.typeId = identity.typeId
    fields.id = identity.id
  }
  return allowed(fields as unknown as SchemeTopic)
}

function outside (reason = 'the topic is not iot-2/type/<type>/id/<id>/<evt|cmd>/<name>/fmt/<format> (or the short form iot-2/<evt|cmd>/<name>/fmt/<format>)'): Checked<never> {
  return refused('BROKER_ERR_TOPIC_OUTSIDE_SCHEME', reason)
}

/** The canonical topic or filter string. */
export function formatTopic (t: SchemeTopic): string {
  return `iot-2/type/${t.typeId}/id/${t.id}/${t.kind}/${t.name}/fmt/${t.format}`
}

export function orgPrefix (orgId: string): string {
  return `$org/${orgId}/`
}

export function internalTopic (orgId: string, t: SchemeTopic): string {
  return orgPrefix(orgId) + formatTopic(t)
}

/** The canonical topic inside `internal`, or undefined when it belongs to another organisation (or none). */
export function stripOrg (orgId: string, internal: string): string | undefined {
  const prefix = orgPrefix(orgId)
  return internal.startsWith(prefix) ? internal.slice(prefix.length) : undefined
}

/** How a canonical topic is shown to the receiving client: a device sees its own commands in the short form. */
export function clientTopicFor (identity: Identity, canonical: string): string {
  if (identity.kind !== 'device') return canonical
  const levels = canonical.split('/')
  if (levels.length === 9 && levels[2] === identity.typeId && levels[4] === identity.id && levels[5] === 'cmd') {
    return `iot-2/cmd/${levels[6]}/fmt/${levels[8]}`
  }
  return canonical
}
