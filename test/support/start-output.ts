import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { within } from './stack.js'

const MQGATE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../cli/mqgate.js')
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g
/** The line above and below the welcome text (cli/welcome.ts). */
const RULE = /^-{20,}$/
/** What `script` itself says when it is stopped. */
const SCRIPT_NOISE = /^Session terminated/

/** A pino-pretty line as cli/logger.ts formats it: `[12:00:00.000] INFO (mqgate/1234): message {fields}`. */
export const PRETTY_LINE = /^\[\d{2}:\d{2}:\d{2}\.\d{3}\] (TRACE|DEBUG|INFO|WARN|ERROR|FATAL) \(mqgate\/(\d+)\): (.*)$/

/** What one `mqgate start` printed on stdout (colours and carriage returns taken out). */
export interface StartOutput {
  readonly text: string
  /** From the rule above the welcome text to the rule below it. */
  readonly welcome: readonly string[]
  /** Every other non-empty line: the log lines. */
  readonly logs: readonly string[]
  /** Where, among all lines, the welcome text starts. */
  readonly welcomeAt: number
  readonly lines: readonly string[]
}

export interface StartRun {
  readonly dataDir: string
  readonly args?: readonly string[]
  readonly env?: Readonly<Record<string, string>>
  /** Run under `script -qec`, so that stdout is a pseudo-terminal. */
  readonly terminal?: boolean
  /** Besides the welcome text, what the output must show before the process is stopped. */
  readonly until?: (text: string) => boolean
  /** Done while the process runs, after the welcome text. */
  readonly whileRunning?: (output: StartOutput) => Promise<void>
}

/**
 * Runs `mqgate start` with every port on 0 and logs at info, waits for its
 * welcome text, stops it with SIGTERM and returns what it printed. The
 * environment's own MQGATE_LOG_FORMAT and MQGATE_ADMIN_TOKEN are cleared
 * unless `env` sets them.
 */
export async function runStartOnce (run: StartRun): Promise<StartOutput> {
  const env = {
    ...process.env,
    MQGATE_DATA_DIR: run.dataDir,
    MQGATE_MQTT_PORT: '0',
    MQGATE_WS_PORT: '0',
    MQGATE_PKI_HTTP_PORT: '0',
    MQGATE_API_PORT: '0',
    MQGATE_ADMIN_PORT: '0',
    REDIS_URL: '',
    MQGATE_LOG_LEVEL: 'info',
    MQGATE_LOG_FORMAT: '',
    MQGATE_ADMIN_TOKEN: '',
    ...run.env
  }
  const argv = [MQGATE, 'start', ...(run.args ?? [])]
  const child = run.terminal === true
    ? spawn('script', ['-qec', `exec ${[process.execPath, ...argv].map(shellQuote).join(' ')}`, '/dev/null'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let text = ''
  let stderr = ''
  child.stdout.on('data', chunk => { text += chunk })
  child.stderr.on('data', chunk => { stderr += chunk })
  const closed = new Promise<void>(resolve => child.once('close', () => resolve()))
  try {
    await within(30_000, async () => {
      if (child.exitCode !== null) throw new Error(`mqgate start exited with ${child.exitCode}:\n${text}\n${stderr}`)
      const output = tryParse(text)
      return output !== undefined && (run.until?.(output.text) ?? true) ? true : undefined
    }).catch((err: Error) => { throw new Error(`${err.message}: no welcome text, or not what \`until\` waits for:\n${clean(text)}`) })
    await run.whileRunning?.(parse(text))
  } finally {
    child.kill('SIGTERM')
    await closed
  }
  return parse(text)
}

function tryParse (raw: string): StartOutput | undefined {
  const lines = clean(raw).split('\n')
  const welcomeAt = lines.findIndex(line => RULE.test(line))
  const end = lines.findIndex((line, i) => i > welcomeAt && RULE.test(line))
  if (welcomeAt === -1 || end === -1) return undefined
  const outside = [...lines.slice(0, welcomeAt), ...lines.slice(end + 1)]
  return {
    text: lines.join('\n'),
    welcome: lines.slice(welcomeAt, end + 1),
    logs: outside.filter(line => line.trim() !== '' && !SCRIPT_NOISE.test(line)),
    welcomeAt,
    lines
  }
}

function parse (raw: string): StartOutput {
  const output = tryParse(raw)
  if (output === undefined) throw new Error(`no welcome text between two rules:\n${raw}`)
  return output
}

function clean (raw: string): string {
  return raw.replace(ANSI, '').replaceAll('\r', '')
}

function shellQuote (value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`
}

/** Whether a line is one JSON object (a pino line). */
export function isJsonObject (line: string): boolean {
  try {
    const value: unknown = JSON.parse(line)
    return typeof value === 'object' && value !== null && !Array.isArray(value)
  } catch {
    return false
  }
}
