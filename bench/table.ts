import { BASELINE, type Figure } from './baseline.js'
import type { Goal, Row } from './report.js'

/** Per scenario, per target name: the figures. */
export type Figures = Record<string, Record<string, Record<string, unknown>>>

const quotient = (a: number | undefined, b: number | undefined): number | undefined => a === undefined || b === undefined || b === 0 ? undefined : a / b
const atMost = (of: string, limit: number, value: number | undefined): Goal => ({ of, limit, atMost: true, value })
const atLeast = (of: string, limit: number, value: number | undefined): Goal => ({ of, limit, atMost: false, value })

/**
 * The table first (its figures, their 2026-12-01 values beside
 * this run's, the ratio its target is stated in, the target), then the
 * figures that explain them.
 */
export function tableRows (f: Figures): Row[] {
  const pick = (scenario: string, field: string): Figure => ({
    mqgate: f[scenario]?.mqgate?.[field] as number | undefined,
    mqgateRedis: f[scenario]?.mqgateRedis?.[field] as number | undefined,
    mosquitto: f[scenario]?.mosquitto?.[field] as number | undefined,
    floor: f[scenario]?.floor?.[field] as number | undefined
  })
  const versusMosquitto = (v: Figure): number | undefined => quotient(v.mqgate, v.mosquitto)
  const connect = pick('connect', 'cpuMicrosPerConnect')
  const resumed = pick('resumed', 'cpuMicrosPerConnect')
  const qos0 = pick('qos0', 'cpuMicrosPerMessage')
  const qos1 = pick('qos1', 'cpuMicrosPerMessage')
  const rated = pick('rated', 'cpuMicrosPerMessage')
  const idle = pick('idle', 'rssBytesPerConnection')
  const readings = pick('readings', 'cpuMicrosPerMessage')
  const p99 = pick('latency', 'storeP99')
  const p99At500 = pick('latency500', 'storeP99')
  const store = pick('store', 'storedPerSecond')
  const perConnect = (workers: number): number | undefined => f[`capacity${workers}`]?.mqgateRedis?.cpuMicrosPerConnect as number | undefined
  const workersRatio = quotient(perConnect(2), perConnect(1))
  const onRedisRatio = { of: 'on Redis ÷ embedded', value: quotient(rated.mqgateRedis, rated.mqgate), baseline: BASELINE.rated.mqgateRedis / BASELINE.rated.mqgate }
  return [
    { scenario: 'full mTLS connect', unit: 'CPU µs', ...connect, baseline: BASELINE.connect, goals: [atMost('mqgate ÷ Mosquitto', 1.5, versusMosquitto(connect))], note: floorNote(connect) },
    { scenario: 'resumed connect', unit: 'CPU µs', ...resumed, baseline: BASELINE.resumed, goals: [atMost('mqgate ÷ Mosquitto', 1.0, versusMosquitto(resumed))], note: floorNote(resumed) },
    { scenario: 'QoS 0, 20 → 1', unit: 'CPU µs/msg', ...qos0, baseline: BASELINE.qos0, goals: [atMost('mqgate ÷ Mosquitto', 1.3, versusMosquitto(qos0))], note: floorNote(qos0) },
    { scenario: 'QoS 1, 20 → 1', unit: 'CPU µs/msg', ...qos1, baseline: BASELINE.qos1, goals: [atMost('mqgate ÷ Mosquitto', 1.3, versusMosquitto(qos1))], note: floorNote(qos1) },
    {
      scenario: 'QoS 1 2,000/s, 100 devices',
      unit: 'CPU µs/msg',
      ...rated,
      baseline: BASELINE.rated,
      goals: [atMost('mqgate ÷ Mosquitto', 1.5, versusMosquitto(rated)), atMost(onRedisRatio.of, 2, onRedisRatio.value)],
      note: [`on Redis ÷ embedded ${onRedisRatio.baseline.toFixed(2)} → ${onRedisRatio.value?.toFixed(2) ?? '–'}`, floorNote(rated)].filter(Boolean).join('; ')
    },
    { scenario: 'idle mTLS connection', unit: 'RSS bytes', ...idle, baseline: BASELINE.idle, goals: [atMost('mqgate', 25_000, idle.mqgate)], note: floorNote(idle) },
    { scenario: 'readings 2,000/s, all processes', unit: 'CPU µs/reading', ...readings, baseline: BASELINE.readings, goals: [atMost('on Redis', 100, readings.mqgateRedis)] },
    { scenario: 'publish → store p99, 2,000/s', unit: 'ms', ...p99, baseline: BASELINE.storeP99, goals: [atMost('on Redis', 25, p99.mqgateRedis)] },
    { scenario: 'publish → store p99, 500/s', unit: 'ms', ...p99At500, baseline: BASELINE.storeP99At500, goals: [atMost('on Redis', 10, p99At500.mqgateRedis)] },
    { scenario: 'one bridge → store', unit: 'readings/s', ...store, baseline: BASELINE.store, goals: [atLeast('on Redis', 50_000, store.mqgateRedis)] },
    {
      scenario: 'connect CPU, 2 workers ÷ 1',
      unit: 'ratio',
      ratio: { of: '2 workers ÷ 1', value: workersRatio, baseline: BASELINE.workersRatio.mqgateRedis },
      goals: [atMost('2 workers ÷ 1', 1.2, workersRatio)],
      note: capacityNote(f)
    },
    ...explaining(f, pick)
  ]
}

/** Figures without a target of their own that tell what limits those above. */
function explaining (f: Figures, pick: (scenario: string, field: string) => Figure): Row[] {
  const capacity = (workers: number): Figure => ({ mqgateRedis: f[`capacity${workers}`]?.mqgateRedis?.cpuMicrosPerConnect as number | undefined })
  return [
    { scenario: 'connect, client CPU', unit: 'CPU µs', ...pick('connect', 'clientCpuMicrosPerConnect') },
    { scenario: 'resumed share', unit: 'of handshakes', ...pick('resumed', 'resumedShare') },
    { scenario: 'idle connection, from 1/5 to all', unit: 'RSS bytes', ...pick('idle', 'marginalRssBytesPerConnection') },
    { scenario: 'QoS 0, 20 → 1', unit: 'msg/s', ...pick('qos0', 'deliveredPerSecond') },
    { scenario: 'QoS 1, 20 → 1', unit: 'msg/s', ...pick('qos1', 'deliveredPerSecond') },
    { scenario: 'QoS 1 100/s, 100 devices', unit: 'CPU µs/msg', ...pick('rated100', 'cpuMicrosPerMessage') },
    // Mosquitto queues nothing for a subscriber that stops reading: a quotient would say nothing.
    { scenario: 'QoS 0 flood, slow sub', unit: 'peak RSS MiB', ...mib(pick('flood', 'peakRssGrowthBytes')), ratio: { of: 'mqgate ÷ Mosquitto' }, note: floodNote(f) },
    { scenario: 'publish → store p50, 2,000/s', unit: 'ms', ...pick('latency', 'storeP50') },
    { scenario: 'publish → query p99, 2,000/s', unit: 'ms', ...pick('latency', 'queryP99') },
    { scenario: 'readings 500/s, all processes', unit: 'CPU µs/reading', ...pick('latency500', 'cpuMicrosPerReading') },
    { scenario: 'publish → store p50, 500/s', unit: 'ms', ...pick('latency500', 'storeP50') },
    { scenario: 'connect CPU, 1 worker', unit: 'CPU µs', ...capacity(1) },
    { scenario: 'connect CPU, 2 workers', unit: 'CPU µs', ...capacity(2) }
  ]
}

/**
 * Where the floor (bench/floor/: Node's TLS and MQTT framing, no broker) puts
 * a figure: over Mosquitto's, what Node itself costs, which no broker in Node
 * can go below; mqgate's over it, what aedes and mqgate add.
 */
function floorNote (figure: Figure): string | undefined {
  if (figure.floor === undefined) return undefined
  const ratio = (a: number | undefined, b: number | undefined): string => quotient(a, b)?.toFixed(2) ?? '–'
  return `Node floor ÷ Mosquitto ${ratio(figure.floor, figure.mosquitto)}, mqgate ÷ Node floor ${ratio(figure.mqgate, figure.floor)}`
}

function mib (values: Figure): Figure {
  const convert = (v: number | undefined): number | undefined => v === undefined ? undefined : v / 2 ** 20
  return { mqgate: convert(values.mqgate), mqgateRedis: convert(values.mqgateRedis), mosquitto: convert(values.mosquitto) }
}

/** What the two runs spent per connect, and the connects a second each managed. */
function capacityNote (f: Figures): string | undefined {
  const run = (workers: number): { cpuMicrosPerConnect: number, connectsPerSecond: number } | undefined =>
    f[`capacity${workers}`]?.mqgateRedis as { cpuMicrosPerConnect: number, connectsPerSecond: number } | undefined
  const [one, two] = [run(1), run(2)]
  if (one === undefined || two === undefined) return undefined
  const us = (v: number): string => Math.round(v).toLocaleString('en-US')
  return `per connect the workers spent ${us(one.cpuMicrosPerConnect)} µs (1 worker, ${us(one.connectsPerSecond)}/s) and ${us(two.cpuMicrosPerConnect)} µs (2 workers, ${us(two.connectsPerSecond)}/s)`
}

function floodNote (f: Figures): string | undefined {
  const describe = (name: string): string | undefined => {
    const run = f.flood?.[name] as { published: number, seconds: number, alive: boolean, slowSubscriberDropped: boolean } | undefined
    if (run === undefined) return undefined
    const dropped = run.slowSubscriberDropped ? 'slow subscriber disconnected' : 'slow subscriber kept'
    return `${name} ${run.alive ? 'alive' : 'DEAD'}, ${Math.round(run.published / run.seconds).toLocaleString('en-US')} msg/s published, ${dropped}`
  }
  const parts = ['mqgate', 'mosquitto'].map(describe).filter(Boolean)
  return parts.length > 0 ? parts.join('; ') : undefined
}
