import type { Client } from 'aedes'
import { knownStateOf, type Session } from '../../access/index.js'

/** The authenticated session of an aedes client, from its connection's state (access/connection-state.ts). */
export function sessionOf (client: Client): Session | undefined {
  return knownStateOf(client.conn)?.session
}
