import type { Socket } from 'node:net'
import type tls from 'node:tls'
import type { Logger } from 'pino'
import type { Admitted, ConnectionLimits, TlsFront } from '../../access/index.js'
import type { BrokerObserver } from '../observer.js'
import type { ThrottledLog } from '../throttled-log.js'

export interface ListenerGuardDeps {
  readonly front: TlsFront
  readonly connectionLimits: ConnectionLimits
  readonly observer: BrokerObserver
  readonly throttled: ThrottledLog
  /** Every open socket of the listener, so that shutdown can close them. */
  readonly sockets: Set<Socket>
}

/**
 * What every device-facing listener does around the TLS handshake, alike:
 * connection limits before any TLS work, registry changes followed by the
 * TLS front, and a failed handshake logged and counted with its code.
 */
export function guardListener (server: tls.Server, deps: ListenerGuardDeps): void {
  deps.front.attach(server)
  server.on('connection', (socket: Socket) => {
    const refusal = deps.connectionLimits.admit(socket)
    if (refusal !== undefined) {
      deps.observer.connectionRefused(refusal)
      deps.throttled.warn(refusal, { event: 'connection.refused', remoteAddress: socket.remoteAddress }, 'connection refused by a limit')
      socket.destroy()
      return
    }
    deps.sockets.add(socket)
    socket.once('close', () => deps.sockets.delete(socket))
  })
  server.on('tlsClientError', (err: Error & { code?: string }, socket: tls.TLSSocket) => {
    const code = deps.front.handshakeRefusal(err, socket)
    deps.observer.connectionRefused(code)
    deps.throttled.warn(code, { event: 'tls.refused', stage: 'handshake', servername: socket.servername || undefined, remoteAddress: socket.remoteAddress, tlsError: err.code, reason: err.message }, 'TLS handshake refused')
    // Node reports a handshake timeout here but leaves the connection open.
    socket.destroy()
  })
}

/** The TLS stage of the identity path for a connection whose handshake completed: admitted, or logged, counted and closed. */
export function admitOrClose (socket: tls.TLSSocket, front: TlsFront, log: Logger, observer: BrokerObserver): Admitted | undefined {
  const admitted = front.resolver.admit(socket)
  if (admitted.ok) return admitted.value
  const { ok: _ok, reason, ...fields } = admitted
  observer.connectionRefused(admitted.code)
  log.warn({ event: 'tls.refused', servername: typeof socket.servername === 'string' ? socket.servername : undefined, remoteAddress: socket.remoteAddress, ...fields }, reason)
  socket.destroy()
  return undefined
}
