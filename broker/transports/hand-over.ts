import type { Duplex } from 'node:stream'
import type { Aedes } from 'aedes'
import type { Logger } from 'pino'
import { applyClientLimits } from '../client-limits.js'
import type { BrokerLimits } from '../config.js'
import { guardFrames } from '../frame-guard.js'
import { rewriteUnsubscribeFilters } from '../hooks/index.js'
import type { BrokerObserver } from '../observer.js'
import type { OrgLimiter } from '../org-limits.js'
import type { ThrottledLog } from '../throttled-log.js'
import { noteTransport, type Transport } from './transport-of.js'

export interface HandOverDeps {
  readonly aedes: Aedes
  readonly limits: BrokerLimits
  readonly log: Logger
  readonly observer: BrokerObserver
  readonly throttled: ThrottledLog
  /** The organisations' own publish rates (org-limits.ts), shared by their clients. */
  readonly orgLimiter?: OrgLimiter
}

/**
 * Gives an admitted connection's MQTT stream (the TLS socket itself, or a
 * WebSocket's stream over it) to aedes, under the same frame guard, per-client
 * limits and UNSUBSCRIBE rewriting whatever the transport.
 */
export function handOver (stream: Duplex & { remoteAddress?: string }, orgId: string | undefined, deps: HandOverDeps, transport: Transport): void {
  noteTransport(stream, transport)
  const client = deps.aedes.handle(stream)
  guardFrames(stream, deps.limits.maxPacketBytes, violation => {
    deps.observer.connectionRefused(violation.code)
    deps.throttled.warn(violation.code, { event: 'connection.closed', declared: violation.declared, limit: deps.limits.maxPacketBytes, remoteAddress: stream.remoteAddress, clientId: client.id ?? undefined }, 'packet over the size limit')
  })
  const limited = applyClientLimits(stream, client, orgId, deps.limits, deps)
  if (!limited || !rewriteUnsubscribeFilters(client, stream)) {
    deps.log.error({ event: 'broker.incompatible' }, 'aedes client has no parser to hook; refusing connections')
    stream.destroy()
  }
}
