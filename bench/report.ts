import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/** One line of the table: a figure per target, the target for it, and whether lower is better. */
export interface Row {
  readonly scenario: string
  readonly unit: string
  readonly lowerIsBetter: boolean
  readonly mqgate?: number
  readonly mqgateRedis?: number
  readonly mosquitto?: number
  readonly target?: string
  readonly note?: string
}

const COLUMNS = ['scenario', 'unit', 'mqgate', 'mqgate on Redis', 'mosquitto', 'mqgate ÷ mosquitto', 'target'] as const

export function printTable (rows: readonly Row[], print: (line: string) => void): void {
  const cells = rows.map(row => [
    row.scenario, row.unit, figure(row.mqgate), figure(row.mqgateRedis), figure(row.mosquitto),
    row.mqgate !== undefined && row.mosquitto !== undefined && row.mosquitto !== 0 ? (row.mqgate / row.mosquitto).toFixed(2) : '',
    row.target ?? ''
  ])
  const widths = COLUMNS.map((title, i) => Math.max(title.length, ...cells.map(c => c[i].length)))
  const line = (values: readonly string[]): string => values.map((v, i) => i < 2 ? v.padEnd(widths[i]) : v.padStart(widths[i])).join('  ').trimEnd()
  print(line(COLUMNS))
  print(widths.map(w => '-'.repeat(w)).join('  '))
  for (const c of cells) print(line(c))
  const notes = rows.filter(r => r.note !== undefined)
  if (notes.length > 0) print('')
  for (const r of notes) print(`${r.scenario}: ${r.note as string}`)
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
  writeFileSync(file, JSON.stringify({ date: now.toISOString(), quick, machine: machine(), versions: versions(), rows, details }, null, 2) + '\n')
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
