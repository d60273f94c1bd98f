import type { Redis } from 'ioredis'
import type { TestRedis } from '../../test/support/redis-server.js'
import { sleep } from '../measure.js'
import { describeGateway, type GatewayFigures } from './gateway-metrics.js'
import { dropConnection, publishAtRate, retireDevice, settle, type Device, type FleetEvents } from './fleet.js'
import type { Ledger } from './ledger.js'
import type { RecorderProcess } from './recorder-process.js'
import type { ProcessWatch } from './process-watch.js'
import type { StoreLatency } from './store-latency.js'

export interface LoadPlan {
  readonly minutes: number
  readonly rate: number
  /** Every `sampleEvery`-th device is timed publish → store; none of them is revoked. */
  readonly sampleEvery: number
}

export interface LoadParts {
  readonly fleet: readonly Device[]
  readonly events: FleetEvents
  readonly ledger: Ledger
  readonly latency: StoreLatency
  readonly watch: ProcessWatch
  readonly redis: TestRedis
  /** A connection of the soak's own to that Redis, for its counts. */
  readonly query: Redis
  readonly recorder: RecorderProcess
  readonly pids: () => number[]
  revoke (device: Device): Promise<void>
  /** mqgate's own figures (/metrics), every 30 s with the progress line. */
  scrape (): Promise<GatewayFigures | undefined>
  log (line: string): void
}

export interface LoadOutcome {
  readonly published: number
  readonly drops: number
  readonly revocations: Array<{ device: number, kickedMs: number | undefined }>
  readonly redisStopMs: number
  readonly redisStartMs: number
  readonly redisRestartAtMin: number
  readonly scrapes: GatewayFigures[]
}

/** A tenth of the devices a minute, in ten batches (one every 6 s) rather than all at once. */
const DROP_EVERY_MS = 6000
const REVOKE_EVERY_MS = 30_000

/**
 * The load: `rate` readings a second for `minutes`, while 10 % of the devices
 * lose their connection each minute, one device is revoked every 30 s
 * (offset by 15 s, so that none falls on the Redis restart), and Redis is
 * stopped (SIGTERM) and started again on its AOF at the half-way mark.
 */
export async function runLoad (plan: LoadPlan, parts: LoadParts): Promise<LoadOutcome> {
  const { fleet, ledger, latency, watch, pids, log } = parts
  const durationMs = plan.minutes * 60_000
  let running = true
  let drops = 0
  const revocations: LoadOutcome['revocations'] = []
  let retiring = Promise.resolve()
  const scrapes: GatewayFigures[] = []
  const hooks = {
    published: (d: number, t: number) => { ledger.onPublished(); latency.published(d, t) },
    acknowledged: (d: number, t: number) => ledger.onAcknowledged(d, t)
  }
  const candidates = fleet.filter(d => d.index % plan.sampleEvery !== 0).reverse()
  const timers = [
    setInterval(() => ledger.takeForwarded(parts.recorder.posts), 1000),
    setInterval(() => {
      const active = fleet.filter(d => !d.stopped && d.client.connected)
      for (let k = 0; k < Math.ceil(fleet.length / 100) && active.length > 0; k++) {
        dropConnection(active.splice(Math.floor(Math.random() * active.length), 1)[0])
        drops++
      }
    }, DROP_EVERY_MS),
    setInterval(() => { void progress(parts, plan, scrapes) }, 30_000)
  ]
  const revokeNext = (): void => {
    const device = candidates.shift()
    if (device === undefined) return
    retiring = retiring.then(async () => {
      revocations.push({ device: device.index, kickedMs: await retireDevice(device, async () => await parts.revoke(device), 30_000) })
    })
  }
  let revokeTimer: NodeJS.Timeout | undefined
  const firstRevoke = setTimeout(() => { revokeNext(); revokeTimer = setInterval(revokeNext, REVOKE_EVERY_MS) }, REVOKE_EVERY_MS / 2)

  watch.start(pids)
  watch.mark('start', pids)
  const loadStart = performance.now()
  latency.begin(loadStart, plan.minutes)
  const loading = publishAtRate(fleet, plan.rate, hooks, () => running)
  await sleep(durationMs / 2)
  watch.mark('middle', pids)
  log(`${(plan.minutes / 2).toFixed(1)} min: restarting Redis (SIGTERM, then again on the same dir and port, AOF)`)
  const haltAt = performance.now()
  await parts.redis.halt()
  const startAt = performance.now()
  // restart() finds the server already stopped and starts it on the same dir and port.
  await parts.redis.restart()
  const [redisStopMs, redisStartMs] = [startAt - haltAt, performance.now() - startAt]
  log(`Redis exited ${Math.round(redisStopMs)} ms after SIGTERM, answered again ${Math.round(redisStartMs)} ms after its start`)
  await latency.resume()
  await sleep(Math.max(0, loadStart + durationMs - performance.now()))
  running = false
  const published = await loading
  watch.mark('end', pids)
  watch.stop()
  clearTimeout(firstRevoke)
  clearInterval(revokeTimer)
  for (const timer of timers) clearInterval(timer)
  await retiring
  const unacknowledged = await settle(fleet, 30_000)
  log(`load stopped: ${published} published; ${unacknowledged} still without PUBACK after 30 s`)
  return { published, drops, revocations, redisStopMs, redisStartMs, redisRestartAtMin: plan.minutes / 2, scrapes }
}

/** One line every 30 s, so that a long run shows where it is. */
async function progress (parts: LoadParts, plan: LoadPlan, scrapes: GatewayFigures[]): Promise<void> {
  const [stored, figures] = await Promise.all([parts.ledger.storedCount(parts.query).catch(() => NaN), parts.scrape()])
  if (figures !== undefined) scrapes.push(figures)
  const rss = parts.watch.points.at(-1)
  parts.log(`${rss?.minute.toFixed(1) ?? '?'}/${plan.minutes} min: acknowledged ${parts.ledger.acknowledged}, stored ${stored}, forwarded ${parts.ledger.forwardedAcknowledged()}, RSS ${((rss?.bytes ?? 0) / 1e6).toFixed(0)} MB, CONNACKs ${parts.events.connects}; ${describeGateway(figures)}`)
}

/**
 * After the load: until every acknowledged reading is stored and forwarded,
 * or nothing has moved for `idleMs`. Seconds waited.
 */
export async function drain (parts: LoadParts, idleMs: number): Promise<number> {
  const started = performance.now()
  let last = -1
  let lastMoved = performance.now()
  for (;;) {
    parts.ledger.takeForwarded(parts.recorder.posts)
    const acknowledged = parts.ledger.acknowledged
    const stored = await parts.ledger.storedCount(parts.query).catch(() => 0)
    const forwarded = parts.ledger.forwardedAcknowledged()
    if (stored >= acknowledged && forwarded >= acknowledged) {
      const tally = await parts.ledger.tally(parts.query)
      if (tally.missingStored.length === 0 && tally.missingForwarded.length === 0) break
    }
    if (stored + forwarded !== last) { last = stored + forwarded; lastMoved = performance.now() }
    if (performance.now() - lastMoved > idleMs) break
    await sleep(2000)
  }
  return (performance.now() - started) / 1000
}
