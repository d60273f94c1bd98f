import type { PeerCertificates } from './peer-chain.js'
import type { Admitted, Session } from './principal.js'

/**
 * Everything the identity path learns about one connection, in one place,
 * filled in as it goes: the SNI callback's organisation, the certificates
 * read once, what the TLS front admitted, the MQTT session once CONNECT is
 * accepted. Keyed by the TLS socket and by any stream a transport layers on
 * it (a WebSocket's), which share the one record.
 */
export interface ConnectionState {
  sniOrg?: string
  peer?: PeerCertificates
  admitted?: Admitted
  session?: Session
}

// A WeakMap needs no type augmentation of sockets, and cannot outlive them.
const states = new WeakMap<object, ConnectionState>()

/** The state of a connection, created empty on first use. */
export function stateOf (connection: object): ConnectionState {
  let state = states.get(connection)
  if (state === undefined) {
    state = {}
    states.set(connection, state)
  }
  return state
}

/** The state of a connection if anything was learnt about it, without creating one. */
export function knownStateOf (connection: object): ConnectionState | undefined {
  return states.get(connection)
}

/** A stream layered on a socket (a WebSocket's) shares the socket's state. */
export function shareState (layered: object, socket: object): void {
  states.set(layered, stateOf(socket))
}
