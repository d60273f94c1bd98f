import { readFileSync } from 'node:fs'
import os from 'node:os'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { cpuMicros, rssBytes } from '../targets.js'

export interface RssPoint {
  /** Minutes since the load started. */
  readonly minute: number
  readonly bytes: number
}

export interface LogCode {
  readonly code: string
  readonly count: number
  /** The first line's message, to tell what the code was about. */
  readonly message: string
}

/** pino's numeric levels. */
const ERROR = 50
const WARN = 40

/**
 * What the mqgate processes did meanwhile: their RSS every few seconds (with
 * named marks: start, middle, end) and their error- and warn-level log lines
 * (pino JSON on stdout), counted by `code`.
 */
export class ProcessWatch {
  readonly points: RssPoint[] = []
  readonly marks = new Map<string, RssPoint>()
  private readonly errors = new Map<string, { count: number, message: string }>()
  private readonly warnings = new Map<string, { count: number, message: string }>()
  private timer: NodeJS.Timeout | undefined
  private startedAt = 0
  /** CPU µs per process (pid → first and last reading), by group, while the watch runs. */
  private readonly cpu = new Map<string, Map<number, { first: number, last: number }>>()
  private readonly groups: Record<string, () => number[]> = { redis: () => childrenNamed('redis-server') }
  private ownCpuAtStart = process.cpuUsage()
  private ownCpu = 0
  private stoppedAt: number | undefined
  /** The machine's load average when the load ended: other work on a shared machine shows here. */
  loadAverage: number[] = []
  /** This process's event-loop delay: when it is high, the clients and the temps API, not mqgate, set the pace. */
  readonly ownLoopDelay = monitorEventLoopDelay({ resolution: 20 })

  readonly onLine = (line: string): void => {
    if (!line.startsWith('{')) return
    let entry: { level?: number, code?: unknown, err?: { code?: unknown, message?: unknown }, msg?: unknown }
    try { entry = JSON.parse(line) } catch { return }
    const level = entry.level ?? 0
    if (level < WARN) return
    const code = String(entry.code ?? entry.err?.code ?? '(no code)')
    const counts = level >= ERROR ? this.errors : this.warnings
    const seen = counts.get(code)
    const cause = entry.err?.message === undefined ? '' : `: ${String(entry.err.message)}`
    if (seen === undefined) counts.set(code, { count: 1, message: `${String(entry.msg ?? '')}${cause}` })
    else seen.count++
  }

  /** Counts another process's CPU under `group` from the start. */
  track (group: string, pids: () => number[]): void {
    this.groups[group] = pids
  }

  start (pids: () => number[], everyMs = 5000): void {
    this.startedAt = performance.now()
    this.groups.mqgate = pids
    this.ownCpuAtStart = process.cpuUsage()
    this.ownLoopDelay.enable()
    this.sample(pids)
    this.timer = setInterval(() => this.sample(pids), everyMs)
  }

  sample (pids: () => number[]): RssPoint {
    this.sampleCpu()
    const point = { minute: (performance.now() - this.startedAt) / 60_000, bytes: rssBytes(pids()) }
    this.points.push(point)
    return point
  }

  mark (name: string, pids: () => number[]): RssPoint {
    const point = this.sample(pids)
    this.marks.set(name, point)
    return point
  }

  stop (): void {
    clearInterval(this.timer)
    this.sampleCpu()
    this.ownLoopDelay.disable()
    this.stoppedAt = performance.now()
    this.loadAverage = os.loadavg()
  }

  /** A process that appears later (Redis restarted) counts from 0: all its CPU was spent during the run. */
  private sampleCpu (): void {
    for (const [group, pids] of Object.entries(this.groups)) {
      const seen = this.cpu.get(group) ?? new Map<number, { first: number, last: number }>()
      this.cpu.set(group, seen)
      for (const pid of pids()) {
        const micros = cpuMicros([pid])
        const known = seen.get(pid)
        if (known === undefined) seen.set(pid, { first: this.points.length === 0 ? micros : 0, last: micros })
        else known.last = micros
      }
    }
    const own = process.cpuUsage(this.ownCpuAtStart)
    this.ownCpu = own.user + own.system
  }

  /** Share of one core each group used while the watch ran (mqgate, redis, and this process: clients and temps API). */
  cpuShares (): Record<string, number> {
    const seconds = ((this.stoppedAt ?? performance.now()) - this.startedAt) / 1000
    const shares: Record<string, number> = { soak: this.ownCpu / 1e6 / seconds }
    for (const [group, seen] of this.cpu) shares[group] = [...seen.values()].reduce((sum, c) => sum + c.last - c.first, 0) / 1e6 / seconds
    return shares
  }

  /** Least-squares slope of RSS over the samples, MB (10^6 bytes) per minute. */
  slopeMbPerMinute (): number {
    const n = this.points.length
    if (n < 2) return NaN
    const mx = this.points.reduce((s, p) => s + p.minute, 0) / n
    const my = this.points.reduce((s, p) => s + p.bytes, 0) / n
    let num = 0
    let den = 0
    for (const p of this.points) {
      num += (p.minute - mx) * (p.bytes - my)
      den += (p.minute - mx) ** 2
    }
    return num / den / 1e6
  }

  errorCodes (): LogCode[] { return sorted(this.errors) }
  warnCodes (): LogCode[] { return sorted(this.warnings) }
}

/** This process's children of that name (the private redis-server, before and after its restart). */
function childrenNamed (name: string): number[] {
  try {
    const children = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number)
    return children.filter(pid => { try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === name } catch { return false } })
  } catch { return [] }
}

function sorted (counts: Map<string, { count: number, message: string }>): LogCode[] {
  return [...counts].map(([code, v]) => ({ code, ...v })).sort((a, b) => b.count - a.count)
}
