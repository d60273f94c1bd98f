import type { EventEmitter } from 'node:events'
import type { Client } from 'aedes'

/**
 * aedes has no hook for UNSUBSCRIBE, yet its filters must be rewritten to the
 * internal form the subscriptions were stored under, or an unsubscribe would
 * silently leave the subscription in place. The filters are rewritten as the
 * packet leaves the parser, before aedes handles it. This reaches into aedes'
 * client (`_parser`, aedes 1.x); test/broker/topics.test.ts covers it.
 */
export function rewriteUnsubscribeFilters (client: Client, rewrite: (filter: string) => string): boolean {
  const parser = (client as unknown as { _parser?: EventEmitter })._parser
  if (typeof parser?.prependListener !== 'function') return false
  parser.prependListener('packet', (packet: { cmd: string, unsubscriptions?: string[] }) => {
    if (packet.cmd === 'unsubscribe' && Array.isArray(packet.unsubscriptions)) {
      packet.unsubscriptions = packet.unsubscriptions.map(rewrite)
    }
  })
  return true
}
