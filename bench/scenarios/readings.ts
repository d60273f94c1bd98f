import https from 'node:https'
import type { Packet } from 'mqtt-packet'
import { Redis } from 'ioredis'
import { cpuDuring, percentile, sleep } from '../measure.js'
import type { Target } from '../targets.js'
import { openWire, type Cert, type Wire } from '../wire.js'

export interface LatencyFigures {
  readonly readings: number
  readonly stored: number
  /** Device publish → the reading's ZADD in the Redis store, ms. */
  readonly storeP50: number
  readonly storeP99: number
  /** Device publish → the mobile query (GET /devices/<type>/<id>/temps) returning it, ms, for a sample. */
  readonly queryP50: number
  readonly queryP99: number
  readonly querySamples: number
  /** CPU of every mqgate process (broker, bridge, API) per reading, µs. */
  readonly cpuMicrosPerReading: number
}

const QUERY_EVERY = 50
/** A mobile app polling harder than this would be the load, not the measurement. */
const POLL_MS = 5

/**
 * `rate` temperature readings a second from the devices (QoS 1), timed to
 * the store by Redis keyspace notifications on the devices' sorted sets and
 * to the mobile query by polling the temps API as an application would.
 */
export async function measureReadingLatency (target: Target & { apiPort?: number }, redisUrl: string, devices: readonly Cert[], mobile: Cert, rate: number, seconds: number): Promise<LatencyFigures> {
  const wires: Wire[] = await Promise.all(devices.map(async (cert, i) => await openWire({ port: target.mqttPort, caPem: target.caPem, cert, clientId: target.clientId('d', 'bench', `t${i}`) })))
  for (const wire of wires) wire.packets.on('packet', (_packet: Packet) => {})
  await warmUp(target, wires)
  const notifications = new Redis(redisUrl)
  await notifications.config('SET', 'notify-keyspace-events', 'Kz')
  const sentAt = new Map<string, number[]>()
  const storeLatencies: number[] = []
  notifications.on('pmessage', (_pattern: string, channel: string, event: string) => {
    if (event !== 'zadd') return
    const queue = sentAt.get(channel.slice(channel.indexOf(':mqgate:readings:') + ':mqgate:readings:'.length))
    const sent = queue?.shift()
    if (sent !== undefined) storeLatencies.push(Number(process.hrtime.bigint()) / 1e6 - sent)
  })
  await notifications.psubscribe('__keyspace@0__:mqgate:readings:demo:bench:*')
  const agent = new https.Agent({ keepAlive: true, maxSockets: 8, ca: target.caPem, cert: mobile.certPem, key: mobile.keyPem, servername: 'demo.messaging.localhost' })
  const queryLatencies: number[] = []
  const queries: Array<Promise<void>> = []
  const tickMs = 10
  const perTick = rate * tickMs / 1000
  let published = 0
  const run = await cpuDuring(target.pids, async () => {
    const started = Date.now()
    while (Date.now() - started < seconds * 1000) {
      const due = Math.floor((Date.now() - started) / tickMs + 1) * perTick
      while (published < due) {
        const device = published % wires.length
        const time = new Date().toISOString()
        const sent = Number(process.hrtime.bigint()) / 1e6
        const key = `demo:bench:t${device}`
        const queue = sentAt.get(key) ?? []
        queue.push(sent)
        sentAt.set(key, queue)
        wires[device].send({ cmd: 'publish', topic: target.eventTopic('bench', `t${device}`, 'temp'), payload: JSON.stringify({ temperature: 36.6, time }), qos: 1, retain: false, dup: false, messageId: Math.floor(published / wires.length) % 65535 + 1 })
        if (published % QUERY_EVERY === 0) queries.push(untilQueried(agent, target.apiPort as number, `t${device}`, time, sent).then(ms => { if (ms !== undefined) queryLatencies.push(ms) }))
        published++
      }
      await sleep(tickMs)
    }
    for (let waited = 0; storeLatencies.length < published && waited < 10_000; waited += 50) await sleep(50)
  })
  await Promise.all(queries)
  await Promise.all(wires.map(async wire => await wire.close()))
  agent.destroy()
  notifications.disconnect()
  const store = [...storeLatencies].sort((a, b) => a - b)
  const query = [...queryLatencies].sort((a, b) => a - b)
  return {
    readings: published,
    stored: store.length,
    storeP50: percentile(store, 50),
    storeP99: percentile(store, 99),
    queryP50: percentile(query, 50),
    queryP99: percentile(query, 99),
    querySamples: query.length,
    cpuMicrosPerReading: run.cpuMicros / published
  }
}

/**
 * One reading per device, a while before measuring: the first reading of an
 * organisation makes the bridge's client certificate and its connections to
 * the temps API, once per process, which is start-up, not latency.
 */
async function warmUp (target: Target, wires: readonly Wire[]): Promise<void> {
  const time = new Date(Date.now() - 60_000).toISOString()
  wires.forEach((wire, i) => wire.send({ cmd: 'publish', topic: target.eventTopic('bench', `t${i}`, 'temp'), payload: JSON.stringify({ temperature: 20, time }), qos: 1, retain: false, dup: false, messageId: 65535 }))
  await sleep(3000)
}

/**
 * Polls the device's newest readings every POLL_MS until the one sent at
 * `sentMs` is among them; the latency in ms, or undefined after 10 s. The
 * device sends a reading every 50 ms, so the query asks for the newest 20.
 */
async function untilQueried (agent: https.Agent, port: number, device: string, time: string, sentMs: number): Promise<number | undefined> {
  while (Number(process.hrtime.bigint()) / 1e6 - sentMs < 10_000) {
    const newest = await getJson(agent, port, `/devices/bench/${device}/temps?limit=20`)
    if (Array.isArray(newest) && newest.some((r: { time?: string }) => r.time === time)) return Number(process.hrtime.bigint()) / 1e6 - sentMs
    await sleep(POLL_MS)
  }
  return undefined
}

async function getJson (agent: https.Agent, port: number, path: string): Promise<unknown> {
  return await new Promise(resolve => {
    const request = https.get({ host: '127.0.0.1', port, path, agent, servername: 'demo.messaging.localhost', headers: { host: 'demo.messaging.localhost' } }, response => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', chunk => { body += chunk })
      response.on('end', () => { try { resolve(JSON.parse(body)) } catch { resolve(undefined) } })
    })
    request.on('error', () => resolve(undefined))
  })
}
