import type { EventEmitter } from 'node:events'
import type { Client } from 'aedes'
import { identityFromCertificate, knownStateOf, type Admitted, type Identity } from '../../access/index.js'
import { INTERNAL_RESULT_FILTER, isResultFilter } from '../enrollment/enrollment-topics.js'
import { internalTopic, parseSubscribeFilter, stripOrg } from '../topics.js'

/**
 * aedes has no hook for UNSUBSCRIBE, yet its filters must be rewritten to the
 * internal form the subscriptions were stored under, or an unsubscribe would
 * silently leave the subscription in place. The filters are rewritten as the
 * packet leaves the parser, before aedes handles it. This reaches into aedes'
 * client (`_parser`, aedes 1.x); test/broker/topics.test.ts covers it.
 */
export function rewriteUnsubscribeFilters (client: Client, conn: object): boolean {
  const parser = (client as unknown as { _parser?: EventEmitter })._parser
  if (typeof parser?.prependListener !== 'function') return false
  parser.prependListener('packet', (packet: { cmd: string, unsubscriptions?: string[] }) => {
    if (packet.cmd === 'unsubscribe' && Array.isArray(packet.unsubscriptions)) {
      packet.unsubscriptions = packet.unsubscriptions.map(filter => internalFilterFor(conn, filter))
    }
  })
  return true
}

/** The client's filter in internal form (CONNECT came first). */
function internalFilterFor (conn: object, filter: string): string {
  // Enrollment's result filters are stored as one internal filter, for every kind of session (authorize-subscribe.ts).
  if (isResultFilter(filter)) return INTERNAL_RESULT_FILTER
  const state = knownStateOf(conn)
  // An UNSUBSCRIBE sent in the same packet burst as CONNECT is parsed before the session exists.
  const session = state?.session ?? sessionToBe(state?.admitted)
  if (session === undefined) return filter
  const parsed = parseSubscribeFilter(stripOrg(session.orgId, filter) ?? filter, session.identity)
  return parsed.ok ? internalTopic(session.orgId, parsed.value) : filter
}

/** Who the connection will be once its CONNECT is accepted (which it must be, for the UNSUBSCRIBE to be handled). */
function sessionToBe (admitted: Admitted | undefined): { orgId: string, identity: Identity } | undefined {
  if (admitted?.orgId === undefined) return undefined
  const identity = identityFromCertificate(admitted.certificate)
  return identity.ok ? { orgId: admitted.orgId, identity: identity.value } : undefined
}
