import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** The built `mqgate` entry, as `npx mqgate` runs it. */
export const MQGATE_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../cli/mqgate.js')

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
export async function runCommand (command: string, args: readonly string[], options: { env?: Record<string, string>, cwd?: string, timeoutMs?: number } = {}): Promise<CliResult> {
  return await new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: { ...cleanEnv(), ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', chunk => { stdout += chunk })
    child.stderr.setEncoding('utf8').on('data', chunk => { stderr += chunk })
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000)
    child.once('error', err => { clearTimeout(timer); reject(err) })
    child.once('close', status => { clearTimeout(timer); resolve({ status, stdout, stderr }) })
  })
}

/** `mqgate <args>` against an admin API given by its URL, CA file and token. */
export async function mqgateCli (args: readonly string[], admin: { url: string, caFile: string, token: string }): Promise<CliResult> {
  return await runCommand(process.execPath, [MQGATE_BIN, ...args], { env: { MQGATE_ADMIN_URL: admin.url, MQGATE_ADMIN_CA: admin.caFile, MQGATE_ADMIN_TOKEN: admin.token } })
}

export const showResult = (result: CliResult): string => `exit ${String(result.status)}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`
