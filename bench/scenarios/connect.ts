import { cpuDuring } from '../measure.js'
import type { Target } from '../targets.js'
import { openWire, type Cert } from '../wire.js'

export interface ConnectFigures {
  /** Broker CPU per connect (TLS handshake, CONNECT/CONNACK, DISCONNECT), µs. */
  readonly cpuMicrosPerConnect: number
  readonly connectsPerSecond: number
  /** Share of handshakes that resumed a session (1 for the resumed scenario when resumption works). */
  readonly resumedShare: number
  /** CPU of the bench's own clients per connect, µs: what the load generator takes from the same machine. */
  readonly clientCpuMicrosPerConnect: number
}

/**
 * Sequential connects on `lanes` lanes (one device each, so devices[0..lanes)):
 * full mTLS handshakes, or handshakes resuming the lane's last session ticket.
 */
export async function measureConnects (target: Target, devices: readonly Cert[], total: number, resume: boolean, lanes = 8): Promise<ConnectFigures> {
  const sessions: Array<Buffer | undefined> = []
  const lane = async (index: number, count: number): Promise<number> => {
    let reused = 0
    for (let i = 0; i < count; i++) {
      const wire = await openWire({ port: target.mqttPort, caPem: target.caPem, cert: devices[index], clientId: target.clientId('d', 'bench', `c${index}`), session: resume ? sessions[index] : undefined })
      if (wire.reused) reused++
      await wire.close()
      if (resume) sessions[index] = wire.session() ?? sessions[index]
    }
    return reused
  }
  const laneIds = Array.from({ length: lanes }, (_, i) => i)
  // Warm-up: JIT, caches, and a first ticket per lane.
  await Promise.all(laneIds.map(async i => await lane(i, 3)))
  const perLane = Math.ceil(total / lanes)
  const clientBefore = process.cpuUsage()
  const run = await cpuDuring(target.pids, async () => await Promise.all(laneIds.map(async i => await lane(i, perLane))))
  const client = process.cpuUsage(clientBefore)
  const connects = perLane * lanes
  return {
    clientCpuMicrosPerConnect: (client.user + client.system) / connects,
    cpuMicrosPerConnect: run.cpuMicros / connects,
    connectsPerSecond: connects / run.seconds,
    resumedShare: run.result.reduce((a, b) => a + b, 0) / connects
  }
}
