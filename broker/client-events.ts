import type { EventEmitter } from 'node:events'
import type { Aedes, Client } from 'aedes'
import type { Logger } from 'pino'
import { claimSessionOf } from './enrollment/claim-session.js'
import { sessionOf } from './hooks/index.js'
import type { BrokerError, BrokerErrorCode } from './errors.js'
import type { ThrottledLog } from './throttled-log.js'

/** aedes reports its own limits by message only; these are the codes they are logged with. */
const AEDES_ERRORS: Array<[RegExp, BrokerErrorCode]> = [
  [/connect did not arrive in time/, 'BROKER_ERR_CONNECT_TIMEOUT'],
  [/keep alive timeout/, 'BROKER_ERR_KEEPALIVE_TIMEOUT'],
  [/drain timeout/, 'BROKER_ERR_DRAIN_TIMEOUT'],
  [/maxInflightInbound exceeded/, 'BROKER_ERR_LIMIT_INFLIGHT']
]

function codeOf (err: Error): string | undefined {
  return (err as BrokerError).code ?? AEDES_ERRORS.find(([pattern]) => pattern.test(err.message))?.[1]
}

/** One line when a client connects (authenticate.ts), disconnects, or is closed on error, with the reason's code. */
export function logClientEvents (aedes: Aedes, log: Logger, throttled: ThrottledLog): void {
  aedes.on('clientDisconnect', (client: Client) => {
    const session = sessionOf(client) ?? claimSessionOf(client)
    session?.log.info({ event: 'client.disconnected', durationMs: Date.now() - session.connectedAt }, 'client disconnected')
  })
  // aedes reports the same failure once per pending write (a subscriber closed on a drain timeout
  // fails every queued delivery): the first one says why, the rest would only repeat it.
  const reported = new WeakSet<Client>()
  aedes.on('clientError', (client: Client, err: Error) => {
    if (reported.has(client)) return
    reported.add(client)
    const session = sessionOf(client) ?? claimSessionOf(client)
    const fields = { event: 'client.error', code: codeOf(err), reason: err.message }
    if (session !== undefined) session.log.warn(fields, 'client connection closed on error')
    else log.warn({ ...fields, clientId: client.id }, 'client connection closed on error')
  })
  // Before CONNECT: protocol errors and timeouts of connections that never became clients.
  aedes.on('connectionError', (client: Client, err: Error) => {
    const code = codeOf(err) ?? 'BROKER_ERR_PROTOCOL'
    throttled.warn(code, { event: 'connection.error', remoteAddress: (client.conn as { remoteAddress?: string }).remoteAddress, reason: err.message }, 'connection closed before CONNECT completed')
  })
  // aedes reports persistence failures as 'error' on the broker; unheard, one would end the process.
  const events: EventEmitter = aedes as unknown as EventEmitter
  events.on('error', (err: Error) => log.error({ event: 'broker.error', err }, 'broker error'))
}
