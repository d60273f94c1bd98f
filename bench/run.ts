/**
 * `npm run bench [-- --quick]`: mqgate on embedded defaults, on Redis with
 * two workers, and Mosquitto when installed, under the same clients with the
 * same certificates. Targets run on core 0, this process (the clients) on
 * core 1. Prints a table and writes bench/results/<date>.json.
 */
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pMap from 'p-map'
import { startTestRedis } from '../test/support/redis-server.js'
import { printTable, writeResults, type Row } from './report.js'
import { measureBridgeStore } from './scenarios/bridge-store.js'
import { measureConnects } from './scenarios/connect.js'
import { measureFlood, measureIdleConnections } from './scenarios/memory.js'
import { measureReadingLatency } from './scenarios/readings.js'
import { measureRated, measureThroughput } from './scenarios/throughput.js'
import { mosquittoAvailable, pinToCore, redisAvailable, startMosquitto, startMqgate, type Identities, type Target } from './targets.js'
import type { Cert } from './wire.js'

const quick = process.argv.includes('--quick')
const SIZE = quick
  ? { connects: 200, seconds: 3, rated: 4, idle: 1000, flood: 4, store: 20_000, latency: 4 }
  : { connects: 1000, seconds: 8, rated: 10, idle: 5000, flood: 10, store: 100_000, latency: 10 }
const RESULTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bench/results')
const log = (line: string): void => { process.stderr.write(`[bench] ${line}\n`) }

/**
 * The scenarios measure what the broker carries, not its per-client policy:
 * at the default 1,000 PUBLISH/s per client, 20 publishers bring at most
 * 20,000 msg/s, and Mosquitto, compared, has no such limit. So the publish
 * rate is lifted as targets.ts lifts the per-IP connection limits, and any
 * limit that still bites is shown (its BROKER_ERR_LIMIT_* warning), since a
 * figure measured under one is the limit's, not the broker's.
 */
const BENCH_MQGATE = {
  env: { MQGATE_PUBLISH_RATE_PER_CLIENT: '10000000', MQGATE_PUBLISH_BYTES_PER_CLIENT: String(1024 * 1024 * 1024) },
  onLine: (line: string): void => { if (line.includes('BROKER_ERR_LIMIT_')) log(`mqgate: ${line}`) }
}

interface Certs {
  readonly connect: Cert[]
  readonly publishers: Cert[]
  readonly rated: Cert[]
  readonly flood: Cert[]
  readonly temps: Cert[]
  readonly subscriber: Cert
  readonly idle: Cert
  readonly slow: Cert
  readonly mobile: Cert
}

/** Per scenario, per target name: the figures. */
type Figures = Record<string, Record<string, Record<string, unknown>>>

async function main (): Promise<void> {
  pinToCore(process.pid, 1)
  const figures: Figures = {}
  const record = (scenario: string, target: string, value: object): void => {
    (figures[scenario] ??= {})[target] = value as Record<string, unknown>
    log(`${scenario} ${target}: ${JSON.stringify(value)}`)
  }

  log('mqgate on embedded defaults (one process)')
  const embedded = await startMqgate(BENCH_MQGATE)
  const certs = await issueCerts(embedded.identities)
  try {
    await mqttScenarios(embedded, certs, 'mqgate', record, true)
  } finally {
    await embedded.stop()
  }

  if (mosquittoAvailable()) {
    log('mosquitto, the same certificates')
    const mosquitto = await startMosquitto(embedded.caPem)
    try {
      await mqttScenarios(mosquitto, certs, 'mosquitto', record, true)
    } finally {
      await mosquitto.stop()
    }
  } else {
    log('mosquitto is not installed: no comparison (apt-get install mosquitto)')
  }

  if (redisAvailable()) await redisScenarios(record)
  else log('redis-server is not installed: no Redis figures (apt-get install redis-server)')

  const rows = tableRows(figures)
  printTable(rows, line => process.stdout.write(line + '\n'))
  const file = writeResults(RESULTS, rows, figures, quick)
  process.stdout.write(`\nresults: ${path.relative(process.cwd(), file)}\n`)
}

/**
 * `singleProcess`: the memory scenarios (idle RSS, flood) need one process;
 * with several, their RSS moves with each one's garbage collector more than
 * with the connections.
 */
async function mqttScenarios (target: Target, certs: Certs, name: string, record: (s: string, t: string, v: object) => void, singleProcess: boolean): Promise<void> {
  record('connect', name, await measureConnects(target, certs.connect, SIZE.connects, false))
  record('resumed', name, await measureConnects(target, certs.connect, SIZE.connects, true))
  record('qos0', name, await measureThroughput(target, certs.publishers, certs.subscriber, 0, SIZE.seconds))
  record('qos1', name, await measureThroughput(target, certs.publishers, certs.subscriber, 1, SIZE.seconds))
  record('rated', name, await measureRated(target, certs.rated, 2000, SIZE.rated))
  // The same devices at a twentieth of the rate: per-wakeup costs are no longer shared between messages.
  record('rated100', name, await measureRated(target, certs.rated, 100, SIZE.rated))
  if (!singleProcess) return
  record('idle', name, await measureIdleConnections(target, certs.idle, SIZE.idle))
  record('flood', name, await measureFlood(target, certs.flood, certs.slow, SIZE.flood))
}

async function redisScenarios (record: (s: string, t: string, v: object) => void): Promise<void> {
  // AOF with fsync every second, as docker-compose.yml runs it.
  const redis = await startTestRedis({ appendfsync: 'everysec' })
  try {
    log('mqgate on Redis, two workers (both on core 0)')
    const onRedis = await startMqgate({ ...BENCH_MQGATE, redisUrl: redis.url, workers: 2 })
    const certs = await issueCerts(onRedis.identities)
    try {
      await mqttScenarios(onRedis, certs, 'mqgateRedis', record, false)
      record('latency', 'mqgateRedis', await measureReadingLatency(onRedis, redis.url, certs.temps, certs.mobile, 2000, SIZE.latency))
      // The same path with the core not saturated: what a reading costs in time rather than in queueing.
      record('latency500', 'mqgateRedis', await measureReadingLatency(onRedis, redis.url, certs.temps, certs.mobile, 500, SIZE.latency))
      record('readings', 'mqgateRedis', await measureRated(onRedis, certs.temps, 2000, SIZE.rated, { prefix: 't', event: 'temp' }))
    } finally {
      await onRedis.stop()
    }
    log('one bridge process draining the reading log into the store')
    record('store', 'mqgateRedis', await measureBridgeStore(redis.url, SIZE.store))
    log('connect capacity: one worker on core 0, then two workers on both cores')
    for (const workers of [1, 2]) {
      const target = await startMqgate({ ...BENCH_MQGATE, redisUrl: redis.url, workers, pin: workers === 1, caPem: onRedis.caPem })
      try {
        record(`capacity${workers}`, 'mqgateRedis', await measureConnects(target, certs.connect, SIZE.connects * 2, false, 32))
      } finally {
        await target.stop()
      }
    }
  } finally {
    await redis.stop()
  }
}

async function issueCerts (identities: Identities): Promise<Certs> {
  const issue = async (commonNames: string[]): Promise<Cert[]> =>
    await pMap(commonNames, async cn => ({ certPem: await identities.cert(cn), keyPem: identities.keyPem }), { concurrency: 4 })
  const devices = async (prefix: string, count: number): Promise<Cert[]> => await issue(Array.from({ length: count }, (_, i) => `d:bench:${prefix}${i}`))
  const [subscriber, idle, slow, mobile] = await issue(['a:bench-sub', 'a:bench-idle', 'a:bench-slow', 'a:bench-mobile'])
  return {
    connect: await devices('c', 32),
    publishers: await devices('p', 20),
    rated: await devices('r', 100),
    flood: await devices('f', 20),
    temps: await devices('t', 100),
    subscriber,
    idle,
    slow,
    mobile
  }
}

function tableRows (f: Figures): Row[] {
  const pick = (scenario: string, field: string): Pick<Row, 'mqgate' | 'mqgateRedis' | 'mosquitto'> => ({
    mqgate: f[scenario]?.mqgate?.[field] as number | undefined,
    mqgateRedis: f[scenario]?.mqgateRedis?.[field] as number | undefined,
    mosquitto: f[scenario]?.mosquitto?.[field] as number | undefined
  })
  const capacity = (workers: number): number | undefined => f[`capacity${workers}`]?.mqgateRedis?.connectsPerSecond as number | undefined
  const [one, two] = [capacity(1), capacity(2)]
  return [
    { scenario: 'full mTLS connect', unit: 'CPU µs', lowerIsBetter: true, ...pick('connect', 'cpuMicrosPerConnect'), target: '≤ mosquitto' },
    { scenario: 'resumed connect', unit: 'CPU µs', lowerIsBetter: true, ...pick('resumed', 'cpuMicrosPerConnect') },
    { scenario: 'resumed share', unit: 'of handshakes', lowerIsBetter: false, ...pick('resumed', 'resumedShare') },
    { scenario: 'QoS 0, 20 → 1', unit: 'msg/s', lowerIsBetter: false, ...pick('qos0', 'deliveredPerSecond') },
    { scenario: 'QoS 0, 20 → 1', unit: 'CPU µs/msg', lowerIsBetter: true, ...pick('qos0', 'cpuMicrosPerMessage') },
    { scenario: 'QoS 1, 20 → 1', unit: 'msg/s', lowerIsBetter: false, ...pick('qos1', 'deliveredPerSecond') },
    { scenario: 'QoS 1, 20 → 1', unit: 'CPU µs/msg', lowerIsBetter: true, ...pick('qos1', 'cpuMicrosPerMessage') },
    { scenario: 'QoS 1 2,000/s, 100 devices', unit: 'CPU µs/msg', lowerIsBetter: true, ...pick('rated', 'cpuMicrosPerMessage'), target: '≤ 52' },
    { scenario: 'QoS 1 100/s, 100 devices', unit: 'CPU µs/msg', lowerIsBetter: true, ...pick('rated100', 'cpuMicrosPerMessage') },
    { scenario: 'readings 2,000/s + bridge', unit: 'CPU µs/msg', lowerIsBetter: true, ...pick('readings', 'cpuMicrosPerMessage') },
    { scenario: 'idle mTLS connection', unit: 'RSS bytes', lowerIsBetter: true, ...pick('idle', 'rssBytesPerConnection'), target: '≤ 25,000' },
    { scenario: 'QoS 0 flood, slow sub', unit: 'peak RSS MiB', lowerIsBetter: true, ...mib(pick('flood', 'peakRssGrowthBytes')), target: 'bounded', note: floodNote(f) },
    { scenario: 'publish → store p50', unit: 'ms', lowerIsBetter: true, ...pick('latency', 'storeP50') },
    { scenario: 'publish → store p99', unit: 'ms', lowerIsBetter: true, ...pick('latency', 'storeP99'), target: '≤ 5' },
    { scenario: 'publish → query p50', unit: 'ms', lowerIsBetter: true, ...pick('latency', 'queryP50') },
    { scenario: 'publish → query p99', unit: 'ms', lowerIsBetter: true, ...pick('latency', 'queryP99') },
    { scenario: 'at 500/s: CPU per reading', unit: 'CPU µs', lowerIsBetter: true, ...pick('latency500', 'cpuMicrosPerReading') },
    { scenario: 'at 500/s: → store p50', unit: 'ms', lowerIsBetter: true, ...pick('latency500', 'storeP50') },
    { scenario: 'at 500/s: → store p99', unit: 'ms', lowerIsBetter: true, ...pick('latency500', 'storeP99') },
    { scenario: 'at 500/s: → query p99', unit: 'ms', lowerIsBetter: true, ...pick('latency500', 'queryP99') },
    { scenario: 'one bridge → store', unit: 'readings/s', lowerIsBetter: false, ...pick('store', 'storedPerSecond'), target: '≥ 30,000' },
    { scenario: 'connects, 1 worker', unit: 'connects/s', lowerIsBetter: false, mqgateRedis: one },
    { scenario: 'connects, 2 workers', unit: 'connects/s', lowerIsBetter: false, mqgateRedis: two },
    { scenario: '2 workers ÷ 1', unit: 'ratio', lowerIsBetter: false, mqgateRedis: one !== undefined && two !== undefined ? two / one : undefined, target: '≥ 1.8', note: capacityNote(f) }
  ]
}

function mib (values: Pick<Row, 'mqgate' | 'mqgateRedis' | 'mosquitto'>): Pick<Row, 'mqgate' | 'mqgateRedis' | 'mosquitto'> {
  const convert = (v: number | undefined): number | undefined => v === undefined ? undefined : v / 2 ** 20
  return { mqgate: convert(values.mqgate), mqgateRedis: convert(values.mqgateRedis), mosquitto: convert(values.mosquitto) }
}

/** The bench's clients share the two cores with the workers: the ceiling that leaves. */
function capacityNote (f: Figures): string | undefined {
  const run = (workers: number): { cpuMicrosPerConnect: number, clientCpuMicrosPerConnect: number } | undefined =>
    f[`capacity${workers}`]?.mqgateRedis as { cpuMicrosPerConnect: number, clientCpuMicrosPerConnect: number } | undefined
  const [one, two] = [run(1), run(2)]
  if (one === undefined || two === undefined) return undefined
  const ceiling = (2e6 / (two.cpuMicrosPerConnect + two.clientCpuMicrosPerConnect)) / (1e6 / one.cpuMicrosPerConnect)
  const us = (v: number): string => Math.round(v).toLocaleString('en-US')
  return `per connect the workers spent ${us(one.cpuMicrosPerConnect)} µs (1 worker) and ${us(two.cpuMicrosPerConnect)} µs (2), the bench's clients ${us(two.clientCpuMicrosPerConnect)} µs on the same 2 cores: the machine caps the ratio at ${ceiling.toFixed(2)}`
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

main().catch(err => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exitCode = 1
})
