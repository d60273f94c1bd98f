import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { BASELINE_DATE, type Figure } from './baseline.js'

/** A quotient of two figures of the row (mqgate ÷ Mosquitto, on Redis ÷ embedded, 2 workers ÷ 1), now and in the baseline. */
export interface Ratio {
  readonly of: string
  readonly value?: number
  readonly baseline?: number
}

/** One of the targets: `of` (a ratio's name, or a target's column) at most or at least `limit`. */
export interface Goal {
  readonly of: string
  readonly limit: number
  readonly atMost: boolean
  readonly value?: number
}

/** One line of the table: a figure per target, the baseline's, the ratio, and the targets with whether each is met. */
export interface Row extends Figure {
  readonly scenario: string
  readonly unit: string
  readonly baseline?: Figure
  /** When absent and both are measured: mqgate ÷ Mosquitto. */
  readonly ratio?: Ratio
  readonly goals?: readonly Goal[]
  readonly note?: string
}

const COLUMNS = ['figure', 'unit', 'mqgate', 'on Redis', 'Mosquitto', 'Node floor', 'ratio', 'target'] as const

export function printTable (rows: readonly Row[], print: (line: string) => void): void {
  const cells = rows.map(row => [
    row.scenario, row.unit,
    beside(row.baseline?.mqgate, row.mqgate), beside(row.baseline?.mqgateRedis, row.mqgateRedis), beside(row.baseline?.mosquitto, row.mosquitto), figure(row.floor),
    ratioCell(ratioOf(row)), (row.goals ?? []).map(goalText).join('; ')
  ])
  const widths = COLUMNS.map((title, i) => Math.max(title.length, ...cells.map(c => c[i].length)))
  const align = (v: string, i: number): string => i < 2 || i === COLUMNS.length - 1 ? v.padEnd(widths[i]) : v.padStart(widths[i])
  const line = (values: readonly string[]): string => values.map(align).join('  ').trimEnd()
  print(`baseline ${BASELINE_DATE} → this run; ratio: ${[...new Set(rows.map(r => ratioOf(r)?.of).filter(Boolean))].join(', ')}`)
  print(line(COLUMNS))
  print(widths.map(w => '-'.repeat(w)).join('  '))
  for (const c of cells) print(line(c))
  const notes = rows.filter(r => r.note !== undefined)
  if (notes.length > 0) print('')
  for (const r of notes) print(`${r.scenario}: ${r.note as string}`)
}

/** The row's ratio: its own, or mqgate ÷ Mosquitto when both were measured. */
export function ratioOf (row: Row): Ratio | undefined {
  if (row.ratio !== undefined) return row.ratio
  const base = row.baseline
  const baseline = base?.mqgate !== undefined && base.mosquitto !== undefined ? base.mqgate / base.mosquitto : undefined
  const value = row.mqgate !== undefined && row.mosquitto !== undefined && row.mosquitto !== 0 ? row.mqgate / row.mosquitto : undefined
  return value === undefined && baseline === undefined ? undefined : { of: 'mqgate ÷ Mosquitto', value, baseline }
}

export function goalMet (goal: Goal): boolean | undefined {
  if (goal.value === undefined || Number.isNaN(goal.value)) return undefined
  return goal.atMost ? goal.value <= goal.limit : goal.value >= goal.limit
}

function goalText (goal: Goal): string {
  const met = goalMet(goal)
  const verdict = met === undefined ? 'not measured' : `${met ? 'met' : 'missed'} (${figure(goal.value)})`
  return `${goal.of} ${goal.atMost ? '≤' : '≥'} ${figure(goal.limit)}: ${verdict}`
}

function beside (baseline: number | undefined, value: number | undefined): string {
  if (baseline === undefined) return figure(value)
  return `${figure(baseline)} → ${value === undefined ? '–' : figure(value)}`
}

function ratioCell (ratio: Ratio | undefined): string {
  if (ratio === undefined) return ''
  return ratio.baseline === undefined ? ratio.value === undefined ? '' : ratio.value.toFixed(2) : `${ratio.baseline.toFixed(2)} → ${ratio.value === undefined ? '–' : ratio.value.toFixed(2)}`
}

function figure (value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return ''
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US')
  return value.toFixed(Math.abs(value) >= 10 ? 1 : 2)
}

export function writeResults (directory: string, rows: readonly Row[], details: Record<string, unknown>, quick: boolean): string {
  mkdirSync(directory, { recursive: true })
  const now = new Date()
  const file = path.join(directory, `${now.toISOString().replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`)
  const table = rows.map(row => ({ ...row, ratio: ratioOf(row), goals: row.goals?.map(goal => ({ ...goal, met: goalMet(goal) })) }))
  writeFileSync(file, JSON.stringify({ date: now.toISOString(), quick, baselineDate: BASELINE_DATE, machine: machine(), versions: versions(), rows: table, details }, null, 2) + '\n')
  return file
}
function machine (): Record<string, unknown> {
  return { cpu: os.cpus()[0]?.model, cores: os.cpus().length, memoryBytes: os.totalmem(), kernel: os.release(), platform: os.platform() }
}

function versions (): Record<string, string | undefined> {
  const packageVersion = (name: string): string | undefined => {
    try { return JSON.parse(readFileSync(path.join('node_modules', name, 'package.json'), 'utf8')).version } catch { return undefined }
  }
  // `mosquitto -h` prints its version on stdout and exits with 3.
  const command = (file: string, args: string[], pattern: RegExp): string | undefined => {
    const run = spawnSync(file, args, { encoding: 'utf8' })
    return pattern.exec(`${run.stdout ?? ''}${run.stderr ?? ''}`)?.[1]
  }
  return {
    node: process.versions.node,
    openssl: process.versions.openssl,
    mqgate: JSON.parse(readFileSync('package.json', 'utf8')).version,
    aedes: packageVersion('aedes'),
    'aedes-persistence-redis': packageVersion('aedes-persistence-redis'),
    mosquitto: command('mosquitto', ['-h'], /mosquitto version (\S+)/),
    redis: command('redis-server', ['--version'], /v=(\S+)/)
  }
}
