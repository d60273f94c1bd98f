import { readFileSync } from 'node:fs'
import { Command, InvalidArgumentError } from 'commander'
import { AdminClient, resolveClientSettings, type ClientEnv } from './admin-client.js'

/** What every verb gets: the environment the entry read, and where to write. */
export interface CliContext {
  readonly env: ClientEnv
  readonly out: (text: string) => void
}

export interface ClientOptions {
  readonly api?: string
  readonly ca?: string
  readonly json?: boolean
}

/** A verb that talks to the admin API: it takes `--api`, `--ca` and `--json`. */
export function apiCommand (parent: Command, nameAndArgs: string, description: string): Command {
  return parent.command(nameAndArgs)
    .description(description)
    .option('--api <url>', 'admin API URL (default: MQGATE_ADMIN_URL, else https://127.0.0.1:$MQGATE_ADMIN_PORT)')
    .option('--ca <file>', 'CA of the admin API (default: MQGATE_ADMIN_CA, else <data dir>/admin/ca.pem)')
    .option('--json', 'print the API\'s JSON instead of text')
}

/** Calls the API and prints the result: JSON with --json, `render`'s text otherwise. */
export async function runApi (ctx: CliContext, options: ClientOptions, call: (client: AdminClient) => Promise<any>, render: (result: any) => string): Promise<any> {
  const client = new AdminClient(resolveClientSettings(options, ctx.env))
  const result = await call(client)
  ctx.out(options.json === true ? JSON.stringify(result, null, 2) : render(result))
  return result
}

/** A certificate, CSR or CRL file for the API: PEM as text, anything else (DER) as base64. */
export function readUpload (file: string): string {
  const bytes = readFileSync(file)
  const text = bytes.toString('utf8')
  return text.includes('-----BEGIN') ? text : bytes.toString('base64')
}

export function readText (file: string): string {
  return readFileSync(file, 'utf8')
}

export function parseDays (value: string): number {
  const days = Number(value)
  if (!Number.isInteger(days) || days < 1 || days > 3650) throw new InvalidArgumentError('a whole number of days, 1 to 3650')
  return days
}

export function collect (value: string, previous: string[] = []): string[] {
  return [...previous, value]
}

/** Fixed-width columns for humans; --json is for scripts. */
export function table (rows: ReadonlyArray<Record<string, unknown>>, columns: readonly string[]): string {
  if (rows.length === 0) return '(none)'
  const cells = rows.map(row => columns.map(c => formatCell(row[c])))
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map(r => r[i].length)))
  const line = (values: readonly string[]): string => values.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd()
  return [line(columns.map(c => c.toUpperCase())), ...cells.map(line)].join('\n')
}

function formatCell (value: unknown): string {
  if (value === null || value === undefined) return '-'
  if (Array.isArray(value)) return value.join(',')
  return String(value)
}
