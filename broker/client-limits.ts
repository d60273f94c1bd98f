import type { Duplex } from 'node:stream'
import type { Client } from 'aedes'
import type { BrokerLimits } from './config.js'
import { orgOfClientId } from '../access/index.js'
import type { BrokerObserver } from './observer.js'
import type { OrgLimiter } from './org-limits.js'
import { limitPublishRate } from './publish-rate.js'
import { limitQueuedBytes } from './queued-bytes.js'
import type { ThrottledLog } from './throttled-log.js'

/**
 * Puts one client under its per-client limits (publish rate, queued bytes),
 * and its organisation's publish rate when it has one (org-limits.ts):
 * each time one bites it is counted for the client's organisation and logged
 * once per client per code and interval. False when aedes' client lacks the
 * hooks the limits need (the caller refuses the connection).
 */
export function applyClientLimits (
  /** The stream aedes reads: a TLS socket, or a WebSocket's stream. */
  socket: Duplex & { readonly remoteAddress?: string },
  client: Client,
  /** The SNI organisation; a TLS 1.2 resumption carries none, and the clientId names it (access/resolve.ts). */
  sniOrgId: string | undefined,
  limits: Pick<BrokerLimits, 'publishRatePerClient' | 'publishBytesPerClient' | 'maxQueuedBytesPerClient'>,
  deps: { readonly observer: BrokerObserver, readonly throttled: ThrottledLog, readonly orgLimiter?: OrgLimiter }
): boolean {
  // Known once CONNECT names the clientId, when the TLS layer kept no SNI name.
  const orgOf = (): string | undefined => sniOrgId ?? orgOfClientId(client.id ?? undefined)
  const report = (code: string, fields: Record<string, unknown>, message: string): string => {
    const clientId = client.id ?? undefined
    const orgId = orgOf() ?? 'unknown'
    deps.throttled.warn(code, { ...fields, orgId, clientId }, message, `${code}:${clientId ?? socket.remoteAddress ?? ''}`)
    return orgId
  }
  const orgGate = deps.orgLimiter?.publishGate(orgOf)
  const rateLimited = limitPublishRate(socket, client, { messagesPerSecond: limits.publishRatePerClient, bytesPerSecond: limits.publishBytesPerClient }, by => {
    if (by === 'shared') {
      deps.observer.orgLimited(report('BROKER_ERR_LIMIT_ORG_PUBLISH_RATE', { event: 'client.throttled', orgMessagesPerSecond: orgGate?.rate() },
        'organisation over its publish rate: not reading this client\'s socket until the organisation is back under'), 'BROKER_ERR_LIMIT_ORG_PUBLISH_RATE')
      return
    }
    deps.observer.publishThrottled(report('BROKER_ERR_LIMIT_PUBLISH_RATE', { event: 'client.throttled', messagesPerSecond: limits.publishRatePerClient, bytesPerSecond: limits.publishBytesPerClient },
      'client over its publish rate: not reading its socket until it is back under'))
  }, orgGate)
  const queueBounded = limitQueuedBytes(socket, client, limits.maxQueuedBytesPerClient, outcome => {
    deps.observer.deliveryOverflow(report('BROKER_ERR_LIMIT_QUEUED_BYTES', { event: 'delivery.over-queue', outcome, limit: limits.maxQueuedBytesPerClient },
      'subscriber holds too much unread: QoS 0 dropped, persistent QoS 1 left in the store'), outcome)
  })
  return rateLimited && queueBounded
}
