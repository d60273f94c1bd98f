import os from 'node:os'
import type { Tally, ReadingRef } from './ledger.js'
import type { GatewayFigures } from './gateway-metrics.js'
import type { ProcessWatch } from './process-watch.js'
import type { MinuteLatency } from './store-latency.js'

/** What happened to the fleet and Redis during the run, besides the readings. */
export interface RunFacts {
  readonly minutes: number
  readonly devices: number
  readonly rate: number
  readonly workers: number
  readonly published: number
  readonly drops: number
  readonly connects: number
  readonly revocations: ReadonlyArray<{ device: number, kickedMs: number | undefined }>
  readonly redisStopMs: number
  readonly redisStartMs: number
  readonly redisRestartAtMin: number
  readonly clientErrors: ReadonlyMap<string, number>
  readonly untimedSamples: number
  readonly drainSeconds: number
  readonly scrapes: readonly GatewayFigures[]
}

const n = (value: number): string => Math.round(value).toLocaleString('en-US')
const mb = (bytes: number | undefined): string => bytes === undefined ? '-' : `${(bytes / 1e6).toFixed(1)} MB`
const ms = (value: number): string => Number.isNaN(value) ? '-' : `${value.toFixed(1)} ms`

/** The run's figures as text; `missing` is true when an acknowledged reading did not reach the store or the temps API. */
export function printSoakReport (facts: RunFacts, tally: Tally, latency: readonly MinuteLatency[], watch: ProcessWatch, print: (line: string) => void): { missing: boolean } {
  print('')
  print(`soak: ${facts.minutes} min, ${n(facts.devices)} devices, ${n(facts.rate)} readings/s at QoS 1, mqgate start --workers ${facts.workers}`)
  print(`  ${n(facts.drops)} connections dropped and resumed (10 %/min), ${n(facts.connects)} CONNACKs in all; ${facts.revocations.length} revocations; Redis restarted at ${facts.redisRestartAtMin.toFixed(1)} min (SIGTERM to exit ${n(facts.redisStopMs)} ms, start and AOF load ${n(facts.redisStartMs)} ms)`)
  print('')
  print('readings')
  print(`  published     ${n(tally.published)}`)
  print(`  acknowledged  ${n(tally.acknowledged)}  (PUBACK received)`)
  print(`  stored        ${n(tally.stored)}  of the acknowledged (${n(tally.storedAll)} distinct in the store in all)`)
  print(`  forwarded     ${n(tally.forwarded)}  of the acknowledged (${n(tally.forwardedAll)} distinct at the temps API, ${n(tally.posts)} POSTs)`)
  const missing = tally.missingStored.length > 0 || tally.missingForwarded.length > 0
  print(`  ${missing ? 'LOST' : 'equal'}: ${tally.missingStored.length} acknowledged readings missing from the store, ${tally.missingForwarded.length} from the temps API (waited ${facts.drainSeconds.toFixed(0)} s after the load)`)
  printMissing('not stored', tally.missingStored, print)
  printMissing('not forwarded', tally.missingForwarded, print)
  print('')
  print('mqgate RSS')
  const [start, middle, end] = ['start', 'middle', 'end'].map(name => watch.marks.get(name))
  const shares = Object.entries(watch.cpuShares()).map(([group, share]) => `${group} ${(share * 100).toFixed(0)} %`).join(', ')
  print(`  start ${mb(start?.bytes)}, middle ${mb(middle?.bytes)}, end ${mb(end?.bytes)}; slope ${watch.slopeMbPerMinute().toFixed(2)} MB/min (least squares over ${watch.points.length} samples)`)
  print(`CPU during the load (100 % = one core of ${os.cpus().length}): ${shares}; machine load average ${watch.loadAverage.map(l => l.toFixed(1)).join(' / ')} (1/5/15 min, at the end of the load)`)
  const worst = (pick: (f: GatewayFigures) => number): string => facts.scrapes.length === 0 ? '-' : n(Math.max(...facts.scrapes.map(pick).filter(v => !Number.isNaN(v))))
  print(`  mqgate's /metrics every 30 s (${facts.scrapes.length} scrapes), worst: event-loop lag p99 ${worst(f => f.loopLagP99Ms)} ms, Redis PING ${worst(f => f.redisRoundTripMs)} ms, store backlog ${worst(f => f.storeBacklog)}, forward backlog ${worst(f => f.forwardBacklog)} readings`)
  print(`  the soak process's event-loop delay p99 ${(watch.ownLoopDelay.percentile(99) / 1e6).toFixed(0)} ms`)
  print('')
  print('publish → store, sampled devices (keyspace notifications)')
  print('  minute  samples       p50       p99       max')
  for (const m of latency) print(`  ${String(m.minute + 1).padStart(6)}  ${String(m.samples).padStart(7)}  ${ms(m.p50).padStart(8)}  ${ms(m.p99).padStart(8)}  ${ms(m.max).padStart(8)}`)
  if (facts.untimedSamples > 0) print(`  (${facts.untimedSamples} samples stored while Redis was restarting: not timed)`)
  print('')
  print('revocations (revoke → the broker closes the device\'s connection)')
  print('  ' + (facts.revocations.map(r => `s${r.device}: ${r.kickedMs === undefined ? 'NOT KICKED' : `${n(r.kickedMs)} ms`}`).join(', ') || 'none'))
  print('')
  print('mqgate error-level log lines by code')
  printCodes(watch.errorCodes(), print)
  print('mqgate warn-level log lines by code')
  printCodes(watch.warnCodes(), print)
  print('client-side errors (mqtt.js)')
  const errors = [...facts.clientErrors].sort((a, b) => b[1] - a[1])
  for (const [message, count] of errors) print(`  ${String(count).padStart(7)}  ${message}`)
  if (errors.length === 0) print('  none')
  return { missing }
}

function printMissing (what: string, refs: readonly ReadingRef[], print: (line: string) => void): void {
  if (refs.length === 0) return
  const shown = refs.slice(0, 10).map(r => `s${r.device}@${new Date(r.timeMs).toISOString()}`).join(', ')
  print(`    ${what}: ${shown}${refs.length > 10 ? ` and ${refs.length - 10} more` : ''}`)
}

function printCodes (codes: ReadonlyArray<{ code: string, count: number, message: string }>, print: (line: string) => void): void {
  for (const c of codes) print(`  ${String(c.count).padStart(7)}  ${c.code}  (${c.message})`)
  if (codes.length === 0) print('  none')
}
