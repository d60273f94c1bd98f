import type { Packet } from 'mqtt-packet'
import { cpuDuring, sleep } from '../measure.js'
import type { Target } from '../targets.js'
import { openWire, subscribe, type Cert, type Wire } from '../wire.js'

export interface ThroughputFigures {
  readonly deliveredPerSecond: number
  /** Broker CPU per message published and delivered once, µs. */
  readonly cpuMicrosPerMessage: number
}

/** Messages published and not yet delivered, over all publishers: keeps the broker busy without piling up a backlog. */
const IN_FLIGHT = 2000
const PER_PUBLISHER_WINDOW = 50
const SUBSCRIPTION = 'iot-2/type/bench/id/+/evt/status/fmt/json'

/**
 * Publishers → one application subscribed to every bench device's `status`
 * events, as fast as the subscriber receives (a closed loop: at most
 * IN_FLIGHT messages between publish and delivery).
 */
export async function measureThroughput (target: Target, devices: readonly Cert[], app: Cert, qos: 0 | 1, seconds: number): Promise<ThroughputFigures> {
  const subscriber = await openWire({ port: target.mqttPort, caPem: target.caPem, cert: app, clientId: target.clientId('a', '', 'bench-sub') })
  const granted = await subscribe(subscriber, SUBSCRIPTION, qos)
  if (granted !== qos) throw new Error(`${target.name} granted QoS ${granted} for ${SUBSCRIPTION}`)
  const publishers = await Promise.all(devices.map(async (cert, i) => await openWire({ port: target.mqttPort, caPem: target.caPem, cert, clientId: target.clientId('d', 'bench', `p${i}`) })))
  let sent = 0
  let delivered = 0
  const unacked = publishers.map(() => 0)
  const ids = publishers.map(() => 0)
  const payload = Buffer.from(JSON.stringify({ temperature: 21.5, time: new Date().toISOString() }))
  let pumping = false
  const pump = (): void => {
    if (pumping) return
    pumping = true
    setImmediate(() => {
      pumping = false
      for (let i = 0; i < publishers.length; i++) {
        const wire = publishers[i]
        while (sent - delivered < IN_FLIGHT && unacked[i] < PER_PUBLISHER_WINDOW && wire.socket.writableLength < 65536) {
          ids[i] = ids[i] % 65535 + 1
          wire.send({ cmd: 'publish', topic: target.eventTopic('bench', `p${i}`, 'status'), payload, qos, retain: false, dup: false, messageId: qos === 1 ? ids[i] : undefined })
          sent++
          if (qos === 1) unacked[i]++
        }
      }
    })
  }
  subscriber.packets.on('packet', (packet: Packet) => {
    if (packet.cmd !== 'publish') return
    delivered++
    if (packet.qos === 1) subscriber.send({ cmd: 'puback', messageId: packet.messageId as number })
    pump()
  })
  publishers.forEach((wire, i) => wire.packets.on('packet', (packet: Packet) => {
    if (packet.cmd === 'puback') { unacked[i]--; pump() }
  }))
  const ticker = setInterval(pump, 5)
  await sleep(1000)
  const before = delivered
  const run = await cpuDuring(target.pids, async () => { await sleep(seconds * 1000); return delivered - before })
  clearInterval(ticker)
  await Promise.all([...publishers, subscriber].map(async wire => await wire.close()))
  return { deliveredPerSecond: run.result / run.seconds, cpuMicrosPerMessage: run.cpuMicros / run.result }
}

export interface RatedFigures {
  readonly published: number
  readonly acknowledged: number
  readonly cpuMicrosPerMessage: number
}

/** `rate` QoS 1 messages a second spread over the devices (`d:bench:<prefix><n>`), each publishing its own `event` (no subscriber). */
export async function measureRated (target: Target, devices: readonly Cert[], rate: number, seconds: number, options: { prefix: string, event: string } = { prefix: 'r', event: 'status' }): Promise<RatedFigures> {
  const { prefix, event } = options
  const wires: Wire[] = await Promise.all(devices.map(async (cert, i) => await openWire({ port: target.mqttPort, caPem: target.caPem, cert, clientId: target.clientId('d', 'bench', `${prefix}${i}`) })))
  let acknowledged = 0
  for (const wire of wires) wire.packets.on('packet', (packet: Packet) => { if (packet.cmd === 'puback') acknowledged++ })
  const tickMs = 10
  const perTick = rate * tickMs / 1000
  let published = 0
  let next = 0
  await sleep(500)
  const run = await cpuDuring(target.pids, async () => {
    const started = Date.now()
    while (Date.now() - started < seconds * 1000) {
      const due = Math.floor((Date.now() - started) / tickMs + 1) * perTick
      while (published < due) {
        const device = next++ % wires.length
        const payload = JSON.stringify({ temperature: 20 + (published % 100) / 10, time: new Date().toISOString() })
        wires[device].send({ cmd: 'publish', topic: target.eventTopic('bench', `${prefix}${device}`, event), payload, qos: 1, retain: false, dup: false, messageId: published % 65535 + 1 })
        published++
      }
      await sleep(tickMs)
    }
    // acknowledged moves in the wires' PUBACK callbacks while this loop sleeps.
    // eslint-disable-next-line no-unmodified-loop-condition
    for (let waited = 0; acknowledged < published && waited < 5000; waited += 50) await sleep(50)
  })
  await Promise.all(wires.map(async wire => await wire.close()))
  return { published, acknowledged, cpuMicrosPerMessage: run.cpuMicros / published }
}
