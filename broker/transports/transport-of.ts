/**
 * Which listener a connection came in on, for the live sessions' list (the
 * admin API's `GET /orgs/:org/sessions`): MQTT over TLS, over a secure
 * WebSocket, or the shared port's MQTT over TLS. Kept beside the stream aedes
 * reads, in a WeakMap that cannot outlive it.
 */
export type Transport = 'tls' | 'wss' | 'shared-port'

const transports = new WeakMap<object, Transport>()

export function noteTransport (stream: object, transport: Transport): void {
  transports.set(stream, transport)
}

export function transportOf (stream: object): Transport | undefined {
  return transports.get(stream)
}
