/**
 * `npm run bench [-- --quick]`: mqgate on embedded defaults, on Redis with
 * two workers, and Mosquitto when installed, under the same clients with the
 * same certificates. Targets run on core 0, this process (the clients) on
 * core 1. Prints a table and writes bench/results/<date>.json.
 */
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Redis } from 'ioredis'
import pMap from 'p-map'
import { startTestRedis } from '../test/support/redis-server.js'
import { printTable, writeResults } from './report.js'
import { tableRows, type Figures } from './table.js'
import { startFloor } from './floor/floor-target.js'
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

  log('node:tls floor: Node\'s TLS and MQTT framing with no broker behind them (bench/floor/)')
  const floor = await startFloor(embedded.caPem)
  try {
    // No flood: the floor queues for a slow subscriber without bound, as Node's streams do; nothing to learn.
    await mqttScenarios(floor, certs, 'floor', record, true, false)
  } finally {
    await floor.stop()
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
async function mqttScenarios (target: Target, certs: Certs, name: string, record: (s: string, t: string, v: object) => void, singleProcess: boolean, flood = singleProcess): Promise<void> {
  record('connect', name, await measureConnects(target, certs.connect, SIZE.connects, false))
  record('resumed', name, await measureConnects(target, certs.connect, SIZE.connects, true))
  record('qos0', name, await measureThroughput(target, certs.publishers, certs.subscriber, 0, SIZE.seconds))
  record('qos1', name, await measureThroughput(target, certs.publishers, certs.subscriber, 1, SIZE.seconds))
  record('rated', name, await measureRated(target, certs.rated, 2000, SIZE.rated))
  // The same devices at a twentieth of the rate: per-wakeup costs are no longer shared between messages.
  record('rated100', name, await measureRated(target, certs.rated, 100, SIZE.rated))
  if (!singleProcess) return
  record('idle', name, await measureIdleConnections(target, certs.idle, SIZE.idle))
  if (flood) record('flood', name, await measureFlood(target, certs.flood, certs.slow, SIZE.flood))
}

async function redisScenarios (record: (s: string, t: string, v: object) => void): Promise<void> {
  // AOF with fsync every second, as docker-compose.yml runs it.
  const redis = await startTestRedis({ appendfsync: 'everysec' })
  try {
    const redisPid = await serverPid(redis.connect())
    log('mqgate on Redis, two workers (both on core 0)')
    const onRedis = await startMqgate({ ...BENCH_MQGATE, redisUrl: redis.url, workers: 2 })
    const certs = await issueCerts(onRedis.identities)
    // A reading's cost is that of every process it goes through, Redis' too.
    const withRedis = { ...onRedis, pids: () => [...onRedis.pids(), redisPid] }
    try {
      await mqttScenarios(onRedis, certs, 'mqgateRedis', record, false)
      record('latency', 'mqgateRedis', await measureReadingLatency(withRedis, redis.url, certs.temps, certs.mobile, 2000, SIZE.latency))
      // The same path with the core not saturated: what a reading costs in time rather than in queueing.
      record('latency500', 'mqgateRedis', await measureReadingLatency(withRedis, redis.url, certs.temps, certs.mobile, 500, SIZE.latency))
      record('readings', 'mqgateRedis', await measureRated(withRedis, certs.temps, 2000, SIZE.rated, { prefix: 't', event: 'temp' }))
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

async function serverPid (client: Redis): Promise<number> {
  try {
    return Number(/process_id:(\d+)/.exec(await client.info('server'))?.[1])
  } finally {
    client.disconnect()
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

main().catch(err => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exitCode = 1
})
