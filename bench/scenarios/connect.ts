import { ConnectLane } from '../connect-client.js'
import { cpuDuring } from '../measure.js'
import type { Target } from '../targets.js'
import type { Cert } from '../wire.js'

export interface ConnectFigures {
  /** Broker CPU per connect (TLS handshake, CONNECT/CONNACK, DISCONNECT), µs. */
  readonly cpuMicrosPerConnect: number
  readonly connectsPerSecond: number
  /** Share of handshakes that resumed a session (1 for the resumed scenario when resumption works). */
  readonly resumedShare: number
  /** CPU of the bench's own clients per connect, µs: what the load generator takes from the same machine. */
  readonly clientCpuMicrosPerConnect: number
  readonly lanes: number
}

/**
 * Connects on `lanes` lanes at once, each one device (devices[0..lanes)) that
 * connects, disconnects and connects again: full mTLS handshakes, or
 * handshakes resuming the lane's last session ticket. Enough lanes keep the
 * broker's core busy, so the figure is what a connect costs a loaded broker
 * (see connect-client.ts for what the client does and does not do).
 */
export async function measureConnects (target: Target, devices: readonly Cert[], total: number, resume: boolean, lanes = 32): Promise<ConnectFigures> {
  const clients = Array.from({ length: lanes }, (_, i) => new ConnectLane(target, devices[i], target.clientId('d', 'bench', `c${i}`)))
  const lane = async (client: ConnectLane, count: number): Promise<number> => {
    let reused = 0
    for (let i = 0; i < count; i++) if (await client.once(resume)) reused++
    return reused
  }
  // Warm-up: JIT, caches, and a first ticket per lane.
  await Promise.all(clients.map(async client => await lane(client, 3)))
  const perLane = Math.ceil(total / lanes)
  const clientBefore = process.cpuUsage()
  const run = await cpuDuring(target.pids, async () => await Promise.all(clients.map(async client => await lane(client, perLane))))
  const client = process.cpuUsage(clientBefore)
  const connects = perLane * lanes
  return {
    clientCpuMicrosPerConnect: (client.user + client.system) / connects,
    cpuMicrosPerConnect: run.cpuMicros / connects,
    connectsPerSecond: connects / run.seconds,
    resumedShare: run.result.reduce((a, b) => a + b, 0) / connects,
    lanes
  }
}
