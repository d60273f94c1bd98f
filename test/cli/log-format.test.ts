import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chooseLogFormat, type LogFormatChoice } from '../../cli/log-format.js'
import type { LogFormat } from '../../config/gateway-config.js'
import { TEST_KEK } from '../support/kek.js'
import { redisServerAvailable, startTestRedis } from '../support/redis-server.js'
import { isJsonObject, PRETTY_LINE, runStartOnce, type StartOutput } from '../support/start-output.js'
import { makeTempDir } from '../support/temp-dir.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
const MQGATE = path.join(ROOT, 'dist', 'cli', 'mqgate.js')

describe('choosing the log format', () => {
  const cases: Array<{ name: string, choice: LogFormatChoice, want: LogFormat }> = [
    { name: 'a terminal gets pretty lines', choice: { terminal: true }, want: 'pretty' },
    { name: 'a pipe, a file or a container gets JSON', choice: { terminal: false }, want: 'json' },
    { name: 'MQGATE_LOG_FORMAT beats the terminal', choice: { env: 'json', terminal: true }, want: 'json' },
    { name: 'MQGATE_LOG_FORMAT beats the pipe', choice: { env: 'pretty', terminal: false }, want: 'pretty' },
    { name: 'the flag beats MQGATE_LOG_FORMAT', choice: { flag: 'json', env: 'pretty', terminal: true }, want: 'json' },
    { name: 'the flag beats the pipe', choice: { flag: 'pretty', terminal: false }, want: 'pretty' }
  ]
  for (const c of cases) it(c.name, () => assert.equal(chooseLogFormat(c.choice), c.want))
})

/** Every log line is pino-pretty's (or indented under one), none is JSON, and the broker's start is among them with its level and message. */
function assertPretty (output: StartOutput): void {
  assert.ok(output.logs.length >= 3, output.text)
  for (const line of output.logs) {
    assert.ok(!isJsonObject(line), `not JSON: ${line}`)
    // An error's fields (its stack) follow its line, indented.
    assert.ok(PRETTY_LINE.test(line) || /^\s/.test(line), `a pretty line: ${line}`)
  }
  assert.ok(output.logs.some(line => PRETTY_LINE.exec(line)?.[1] === 'INFO' && PRETTY_LINE.exec(line)?.[3].startsWith('MQTT over TLS listening {')), output.text)
}

/** Every log line is one JSON object (the welcome text, between its rules, is the only other text). */
function assertJson (output: StartOutput): void {
  assert.ok(output.logs.length >= 3, output.text)
  for (const line of output.logs) assert.ok(isJsonObject(line), `JSON: ${line}`)
  assert.ok(output.logs.some(line => JSON.parse(line).event === 'broker.listening'), output.text)
}

describe('mqgate start: the log format (a real process)', function () {
  this.timeout(90_000)
  let temp: { dir: string, remove: () => Promise<void> }

  before(async () => { temp = await makeTempDir('log-format') })
  after(async () => await temp.remove())

  it('writes JSON log lines when stdout is a pipe, the welcome text apart between two rules', async () => {
    const output = await runStartOnce({ dataDir: temp.dir })
    assertJson(output)
    assert.match(output.welcome.join('\n'), /^mqgate is running: MQTT over TLS on port \d+/m)
    assert.ok(output.welcome.some(line => line.startsWith('mosquitto_pub ')))
  })

  it('writes pretty lines with --log-format pretty, those logged before the welcome text above it', async () => {
    const output = await runStartOnce({ dataDir: temp.dir, args: ['--log-format', 'pretty'] })
    assertPretty(output)
    // The last part to start logs just before the welcome text is printed.
    const bridge = output.lines.findIndex(line => PRETTY_LINE.exec(line)?.[3].startsWith('bridge started') === true)
    assert.ok(bridge !== -1 && bridge < output.welcomeAt, output.text)
    assert.ok(!output.welcome.some(line => PRETTY_LINE.test(line) || isJsonObject(line)), 'no log line inside the welcome text')
  })

  it('writes pretty lines when MQGATE_LOG_FORMAT=pretty', async () => {
    assertPretty(await runStartOnce({ dataDir: temp.dir, env: { MQGATE_LOG_FORMAT: 'pretty' } }))
  })

  it('lets --log-format json beat MQGATE_LOG_FORMAT=pretty', async () => {
    assertJson(await runStartOnce({ dataDir: temp.dir, args: ['--log-format', 'json'], env: { MQGATE_LOG_FORMAT: 'pretty' } }))
  })

  describe('on a terminal (script gives the process a pseudo-terminal)', () => {
    before(function () {
      if (spawnSync('script', ['--version']).error !== undefined) {
        console.log('      (skipped: script (util-linux) is not installed; the unit table above covers the decision)')
        this.skip()
      }
    })

    it('writes pretty lines by default', async () => {
      assertPretty(await runStartOnce({ dataDir: temp.dir, terminal: true }))
    })

    it('keeps JSON with MQGATE_LOG_FORMAT=json (a container run with -t)', async () => {
      assertJson(await runStartOnce({ dataDir: temp.dir, terminal: true, env: { MQGATE_LOG_FORMAT: 'json' } }))
    })
  })

  it('refuses MQGATE_LOG_FORMAT=xml as a configuration error (CONFIG_ERR_INVALID, exit code 1)', async () => {
    const result = await runToExit(['start'], { MQGATE_DATA_DIR: temp.dir, MQGATE_LOG_FORMAT: 'xml' })
    assert.equal(result.status, 1, result.stdout + result.stderr)
    assert.match(result.stderr, /^mqgate: CONFIG_ERR_INVALID: /)
    assert.match(result.stderr, /MQGATE_LOG_FORMAT must be one of json, pretty, got "xml"/)
  })

  it('refuses --log-format xml as a usage error (exit code 2), naming the choices', async () => {
    const result = await runToExit(['start', '--log-format', 'xml'], { MQGATE_DATA_DIR: temp.dir })
    assert.equal(result.status, 2, result.stdout + result.stderr)
    assert.match(result.stderr, /--log-format <format>' argument 'xml' is invalid\. Allowed choices are json, pretty/)
  })
})

/**
 * `mqgate <args>` expected to refuse at once, on ports 0 all the same: a
 * process that starts instead is killed after 20 s and reports no status.
 */
async function runToExit (args: readonly string[], env: Record<string, string>): Promise<{ status: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, [MQGATE, ...args], {
    env: { ...process.env, REDIS_URL: '', MQGATE_MQTT_PORT: '0', MQGATE_WS_PORT: '0', MQGATE_PKI_HTTP_PORT: '0', MQGATE_API_PORT: '0', MQGATE_ADMIN_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', chunk => { stdout += chunk })
  child.stderr.on('data', chunk => { stderr += chunk })
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
  const status = await new Promise<number | null>(resolve => child.once('close', code => resolve(code)))
  clearTimeout(timer)
  return { status, stdout, stderr }
}

describe('mqgate start: how the welcome text says to sign in to the admin API', function () {
  this.timeout(90_000)
  let temp: { dir: string, remove: () => Promise<void> }

  before(async () => { temp = await makeTempDir('welcome-admin') })
  after(async () => await temp.remove())

  /** The welcome line that starts with `command`, run as pasted from the repository's directory. */
  const paste = (output: StartOutput, command: RegExp, env: Record<string, string> = {}): string => {
    const line = output.welcome.find(l => command.test(l))
    assert.ok(line !== undefined, output.welcome.join('\n'))
    // A fresh shell: none of the test's own MQGATE_* settings, only what the line says (and `env`).
    const shell = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('MQGATE_')))
    const run = spawnSync('sh', ['-c', line], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: { ...shell, ...env } })
    assert.equal(run.status, 0, `${line}\n${run.stdout}${run.stderr}`)
    return run.stdout
  }

  it('names the admin token\'s file, never the token, and its curl and CLI lines work as pasted', async () => {
    const output = await runStartOnce({
      dataDir: temp.dir,
      whileRunning: async output => {
        assert.match(paste(output, /^curl .*\/orgs$/), /"id":"demo"/)
        assert.match(paste(output, /^(MQGATE_\S+ )*npx mqgate org list$/), /^demo\s+demo\.messaging\.localhost/m)
        // The console's URL as printed answers with its sign-in page over the admin API's CA.
        const consoleUrl = /https:\/\/127\.0\.0\.1:\d+\/console\b/.exec(output.welcome.join('\n'))?.[0]
        assert.ok(consoleUrl !== undefined, output.welcome.join('\n'))
        const page = spawnSync('curl', ['-sS', '-L', '--cacert', path.join(temp.dir, 'admin', 'ca.pem'), consoleUrl], { encoding: 'utf8', timeout: 30_000 })
        assert.match(page.stdout, /<form[^>]*sign-in/i, page.stdout + page.stderr)
      }
    })
    const token = readFileSync(path.join(temp.dir, 'admin-token'), 'utf8').trim()
    assert.ok(output.welcome.some(line => line.includes(path.join(temp.dir, 'admin-token'))), output.welcome.join('\n'))
    assert.ok(output.welcome.some(line => line.includes(path.join(temp.dir, 'admin', 'ca.pem'))), output.welcome.join('\n'))
    assert.ok(output.welcome.some(line => /npx mqgate operator create \S+ --role org-admin --org demo$/.test(line)), output.welcome.join('\n'))
    assert.ok(!output.text.includes(token), 'the admin token is not printed')
  })

  it('says the token is MQGATE_ADMIN_TOKEN when the process was given one, and prints it nowhere', async () => {
    const token = 'welcome-test-admin-token-0123456789abcdef'
    const output = await runStartOnce({
      dataDir: temp.dir,
      env: { MQGATE_ADMIN_TOKEN: token },
      whileRunning: async output => {
        assert.match(paste(output, /^curl .*\/orgs$/, { MQGATE_ADMIN_TOKEN: token }), /"id":"demo"/)
      }
    })
    assert.ok(output.welcome.some(line => line.includes('the MQGATE_ADMIN_TOKEN this process was given')), output.welcome.join('\n'))
    assert.ok(!output.text.includes(token), 'the admin token is not printed')
  })
})

describe('mqgate start --workers 2 --log-format pretty', function () {
  this.timeout(90_000)

  before(function () {
    if (!redisServerAvailable()) {
      console.log('      (skipped: redis-server is not installed)')
      this.skip()
    }
  })

  it('writes every worker\'s log lines pretty, like the primary\'s', async () => {
    const redis = await startTestRedis()
    const temp = await makeTempDir('log-format-workers')
    try {
      const workerPids = (text: string): Set<string> => new Set(text.split('\n').flatMap(line => {
        const match = PRETTY_LINE.exec(line)
        return match?.[3].startsWith('MQTT over TLS listening') === true ? [match[2]] : []
      }))
      const output = await runStartOnce({
        dataDir: temp.dir,
        args: ['--workers', '2', '--log-format', 'pretty'],
        env: { REDIS_URL: redis.url, MQGATE_KEK: TEST_KEK },
        until: text => workerPids(text).size === 2
      })
      assertPretty(output)
      assert.equal(workerPids(output.text).size, 2, output.text)
    } finally {
      await redis.stop()
      await temp.remove()
    }
  })
})
