import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** The built `mqgate` entry, as `npx mqgate` runs it. */
export const MQGATE_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../cli/mqgate.js')

/** How a command ended: exit status and what it printed. */
export interface CliResult {
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Variables the parent may have set that would point the CLI somewhere else. */
const INHERITED_OUT = ['MQGATE_ADMIN_URL', 'MQGATE_ADMIN_CA', 'MQGATE_ADMIN_TOKEN', 'MQGATE_ADMIN_PORT', 'MQGATE_DATA_DIR']

/** The parent's environment without the variables that would point a CLI elsewhere. */
export function cleanEnv (): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !INHERITED_OUT.includes(e[0])))
}

/**
 * Runs a command asynchronously (the gateway it talks to runs in this
 * process, so a synchronous spawn would block it) and collects its output.
 */
export async function runCommand (command: string, args: readonly string[], options: { env?: Record<string, string>, cwd?: string, timeoutMs?: number, input?: string } = {}): Promise<CliResult> {
  return await new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: { ...cleanEnv(), ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] })
    // Nothing to give: stdin ends at once, as /dev/null would; a child that exits unread must not fail the write.
    child.stdin.on('error', () => {}).end(options.input)
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', chunk => { stdout += chunk })
    child.stderr.setEncoding('utf8').on('data', chunk => { stderr += chunk })
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000)
    child.once('error', err => { clearTimeout(timer); reject(err) })
    child.once('close', status => { clearTimeout(timer); resolve({ status, stdout, stderr }) })
  })
}

/** `mqgate <args>` against an admin API given by its URL, CA file and token; `input` is piped to its stdin. */
export async function mqgateCli (args: readonly string[], admin: { url: string, caFile: string, token: string }, input?: string): Promise<CliResult> {
  return await runCommand(process.execPath, [MQGATE_BIN, ...args], { env: { MQGATE_ADMIN_URL: admin.url, MQGATE_ADMIN_CA: admin.caFile, MQGATE_ADMIN_TOKEN: admin.token }, input })
}

export const showResult = (result: CliResult): string => `exit ${String(result.status)}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`

/** `mqgate <args>` with the given environment (a data dir, an admin port), killed after 30 s. */
export async function runMqgate (args: readonly string[], env: Record<string, string> = {}, cwd?: string): Promise<CliResult> {
  return await runCommand(process.execPath, [MQGATE_BIN, ...args], { env, cwd })
}

/** The command succeeded: exit 0. */
export function assertExitedZero (result: CliResult): void {
  assert.equal(result.status, 0, showResult(result))
}

/** Runs a verb with `--json` through `run`, checks it succeeded, and parses what it printed. */
export async function cliJson (run: (args: readonly string[]) => Promise<CliResult>, args: readonly string[]): Promise<any> {
  const result = await run([...args, '--json'])
  assertExitedZero(result)
  return JSON.parse(result.stdout)
}
