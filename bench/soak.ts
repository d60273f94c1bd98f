/**
 * `npm run soak [-- --minutes N]`: mqgate on a private Redis (AOF) with the
 * bridge forwarding to a recording temps API, under 1,000 mqtt.js devices
 * publishing 2,000 readings/s at QoS 1, with drops, revocations and a Redis
 * restart half-way. Exits 1 when an acknowledged reading is missing from the
 * store or the temps API. Never part of `npm test`.
 */
import os from 'node:os'
import { Command, InvalidArgumentError } from 'commander'
import pMap from 'p-map'
import { startTestRedis, type TestRedis } from '../test/support/redis-server.js'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { BENCH_TOKEN, startMqgate } from './targets.js'
import { scrapeGateway, type GatewayFigures } from './soak/gateway-metrics.js'
import { closeFleet, connectFleet, type Device, type FleetEvents } from './soak/fleet.js'
import { Ledger } from './soak/ledger.js'
import { drain, runLoad, type LoadParts } from './soak/load.js'
import { ProcessWatch } from './soak/process-watch.js'
import { forkRecorder, type RecorderProcess } from './soak/recorder-process.js'
import { printSoakReport } from './soak/soak-report.js'
import { StoreLatency } from './soak/store-latency.js'

/** A run longer than an hour is a different tool (and this one keeps every reading's key in memory). */
const MAX_MINUTES = 60
/** Every 50th device is timed publish → store: 20 devices, 40 readings a second at the full rate. */
const SAMPLE_EVERY = 50
/** After the load, how long the counts may stand still before the run gives up waiting. */
const DRAIN_IDLE_MS = 60_000

interface SoakOptions {
  readonly minutes: number
  readonly devices: number
  readonly rate: number
  readonly workers: number
}

const log = (line: string): void => { process.stderr.write(`[soak] ${new Date().toISOString().slice(11, 19)} ${line}\n`) }

function bounded (name: string, min: number, max: number, integer: boolean): (value: string) => number {
  return value => {
    const number = Number(value)
    if (!Number.isFinite(number) || number < min || number > max || (integer && !Number.isInteger(number))) {
      throw new InvalidArgumentError(`${name}: ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}`)
    }
    return number
  }
}

function parseOptions (argv: readonly string[]): SoakOptions {
  const program = new Command('soak')
    .description('mqgate under readings, reconnects, revocations and a Redis restart; checks that no acknowledged reading is lost')
    .option('--minutes <n>', `minutes of load (at most ${MAX_MINUTES}; decimals allowed)`, bounded('minutes', 0.5, MAX_MINUTES, false), 10)
    .option('--devices <n>', 'devices, each with its own certificate', bounded('devices', 10, 5000, true), 1000)
    .option('--rate <n>', 'readings a second, all devices together', bounded('rate', 1, 20_000, true), 2000)
    .option('--workers <n>', 'mqgate start --workers (its default: one per core)', bounded('workers', 1, 8, true), os.availableParallelism())
    .parse(argv)
  return program.opts<SoakOptions>()
}

async function main (options: SoakOptions): Promise<number> {
  const closers: Array<() => Promise<void>> = []
  try {
    const redis = await startTestRedis({ appendfsync: 'everysec' })
    closers.unshift(async () => await redis.stop())
    // The bridge's client certificates come from the demo organisation's CA, which exists once mqgate runs: trusted below.
    const recorder = await forkRecorder()
    closers.unshift(async () => await recorder.close())
    const watch = new ProcessWatch()
    watch.track('temps API', () => [recorder.pid])
    const mqgate = await startMqgate({
      redisUrl: redis.url,
      workers: options.workers,
      pin: false,
      onLine: watch.onLine,
      env: { MQGATE_TEMPS_URL: recorder.url, MQGATE_TEMPS_CA_FILE: recorder.caFile }
    })
    closers.unshift(async () => await mqgate.stop())
    await recorder.trust(mqgate.caPem)
    log(`mqgate (${options.workers} worker${options.workers === 1 ? '' : 's'}) on Redis ${redis.url}, temps API ${recorder.url}`)

    const issuedAt = performance.now()
    const certs = await pMap(Array.from({ length: options.devices }, (_, i) => i), async i =>
      ({ certPem: await mqgate.identities.cert(`d:soak:s${i}`), keyPem: mqgate.identities.keyPem }), { concurrency: 4 })
    log(`${certs.length} certificates issued through the admin API in ${((performance.now() - issuedAt) / 1000).toFixed(1)} s`)
    const events: FleetEvents = { connects: 0, closes: 0, errors: new Map() }
    const connectedAt = performance.now()
    const fleet = await connectFleet(mqgate.mqttPort, mqgate.caPem, certs, events)
    closers.unshift(async () => await closeFleet(fleet))
    log(`${fleet.length} devices connected in ${((performance.now() - connectedAt) / 1000).toFixed(1)} s`)

    const adminCaPem = readFileSync(path.join(mqgate.dataDir, 'admin', 'ca.pem'), 'utf8')
    const parts = await loadParts(options, fleet, events, watch, redis, recorder, mqgate.pids, async device => {
      await mqgate.admin.request('POST', `/orgs/demo/certs/${device.fingerprint}/revoke`)
    }, async () => await scrapeGateway(mqgate.adminPort, adminCaPem, BENCH_TOKEN))
    closers.unshift(async () => { parts.latency.close(); parts.query.disconnect() })
    const outcome = await runLoad({ minutes: options.minutes, rate: options.rate, sampleEvery: SAMPLE_EVERY }, parts)
    const drainSeconds = await drain(parts, DRAIN_IDLE_MS)
    const tally = await parts.ledger.tally(parts.query)
    const { missing } = printSoakReport({
      ...outcome,
      minutes: options.minutes,
      devices: options.devices,
      rate: options.rate,
      workers: options.workers,
      connects: events.connects,
      clientErrors: events.errors,
      untimedSamples: parts.latency.untimed,
      drainSeconds
    }, tally, parts.latency.perMinute(), watch, line => process.stdout.write(line + '\n'))
    return missing ? 1 : 0
  } finally {
    for (const close of closers) await close().catch(err => log(`cleanup: ${String(err)}`))
  }
}

async function loadParts (options: SoakOptions, fleet: Device[], events: FleetEvents, watch: ProcessWatch, redis: TestRedis, recorder: RecorderProcess, pids: () => number[], revoke: (device: Device) => Promise<void>, scrape: () => Promise<GatewayFigures | undefined>): Promise<LoadParts> {
  const latency = new StoreLatency(redis.url, options.devices, SAMPLE_EVERY)
  await latency.start()
  const query = redis.connect()
  query.on('error', () => {})
  return {
    fleet,
    events,
    ledger: new Ledger(options.devices),
    latency,
    watch,
    redis,
    query,
    recorder,
    pids,
    scrape,
    log,
    // A revocation that fails (the admin API answering an error) is reported, not fatal: the device has stopped anyway.
    revoke: async device => await revoke(device).catch(err => log(`revoking s${device.index} failed: ${String(err)}`))
  }
}

main(parseOptions(process.argv)).then(code => { process.exitCode = code }, err => {
  process.stderr.write(`soak failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exitCode = 2
})
