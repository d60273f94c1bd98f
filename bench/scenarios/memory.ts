import { once } from 'node:events'
import pMap from 'p-map'
import type { Packet } from 'mqtt-packet'
import { sleep } from '../measure.js'
import { rssBytes, type Target } from '../targets.js'
import { openWire, subscribe, type Cert, type Wire } from '../wire.js'

export interface IdleFigures {
  readonly connections: number
  /** RSS growth from before the first connection to after the last, per connection. */
  readonly rssBytesPerConnection: number
  /**
   * RSS growth from a fifth of the connections to all of them, per connection
   * added: less moved by what the heap had free before (garbage of earlier
   * scenarios reused) and by its one-off resizing.
   */
  readonly marginalRssBytesPerConnection: number
}

/** RSS growth of the broker with `count` idle mTLS connections (one application, many instances). */
export async function measureIdleConnections (target: Target, app: Cert, count: number): Promise<IdleFigures> {
  await sleep(2000)
  const before = rssBytes(target.pids())
  const open = async (from: number, to: number): Promise<Wire[]> => await pMap(Array.from({ length: to - from }, (_, i) => from + i), async i =>
    await openWire({ port: target.mqttPort, caPem: target.caPem, cert: app, clientId: target.clientId('a', '', `bench-idle:${i}`), keepalive: 600 }), { concurrency: 16 })
  const first = Math.floor(count / 5)
  const wires = await open(0, first)
  await sleep(3000)
  const atFirst = rssBytes(target.pids())
  wires.push(...await open(first, count))
  await sleep(3000)
  const after = rssBytes(target.pids())
  for (const wire of wires) wire.socket.destroy()
  await sleep(1000)
  return { connections: wires.length, rssBytesPerConnection: (after - before) / wires.length, marginalRssBytesPerConnection: (after - atFirst) / (wires.length - first) }
}

export interface FloodFigures {
  readonly published: number
  readonly seconds: number
  /** Peak RSS growth of the broker during the flood. */
  readonly peakRssGrowthBytes: number
  /** The broker closed the connection of the subscriber that stopped reading. */
  readonly slowSubscriberDropped: boolean
  /** A device could connect after the flood (the broker survived). */
  readonly alive: boolean
}

/**
 * QoS 0 flood from the publishers, as fast as their sockets take it, towards
 * one subscriber that stops reading after SUBACK.
 */
export async function measureFlood (target: Target, devices: readonly Cert[], app: Cert, seconds: number): Promise<FloodFigures> {
  const slow = await openWire({ port: target.mqttPort, caPem: target.caPem, cert: app, clientId: target.clientId('a', '', 'bench-slow'), keepalive: 600 })
  await subscribe(slow, 'iot-2/type/bench/id/+/evt/+/fmt/json', 0)
  slow.socket.pause()
  const started = Date.now()
  const publishers: Wire[] = await Promise.all(devices.map(async (cert, i) => await openWire({ port: target.mqttPort, caPem: target.caPem, cert, clientId: target.clientId('d', 'bench', `f${i}`) })))
  const baseline = rssBytes(target.pids())
  let peak = baseline
  let published = 0
  const payload = Buffer.alloc(256, 'x')
  const flooding = publishers.map(async (wire, i) => {
    const packet: Packet = { cmd: 'publish', topic: target.eventTopic('bench', `f${i}`, 'flood'), payload, qos: 0, retain: false, dup: false }
    while (Date.now() - started < seconds * 1000 && !wire.socket.destroyed) {
      const remaining = started + seconds * 1000 - Date.now()
      if (!wire.send(packet) && remaining > 0) await once(wire.socket, 'drain', { signal: AbortSignal.timeout(remaining) }).catch(() => {})
      published++
      if (published % 200 === 0) await new Promise(resolve => setImmediate(resolve))
    }
  })
  const sampler = setInterval(() => { peak = Math.max(peak, rssBytes(target.pids())) }, 200)
  await Promise.all(flooding)
  clearInterval(sampler)
  const floodSeconds = (Date.now() - started) / 1000
  await Promise.all(publishers.map(async wire => await wire.close()))
  // A paused socket sees no end: read what is buffered and see whether the broker's FIN follows.
  const ended = once(slow.socket, 'end', { signal: AbortSignal.timeout(3000) }).then(() => true, () => false)
  slow.socket.resume()
  const slowSubscriberDropped = await ended
  slow.socket.destroy()
  let alive = false
  try {
    await (await openWire({ port: target.mqttPort, caPem: target.caPem, cert: devices[0], clientId: target.clientId('d', 'bench', 'f0') })).close()
    alive = true
  } catch { /* the broker is gone */ }
  return { published, seconds: floodSeconds, peakRssGrowthBytes: peak - baseline, slowSubscriberDropped, alive }
}
