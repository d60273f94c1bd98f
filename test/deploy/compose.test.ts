import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { BROKER_DEFAULTS } from '../../broker/index.js'
import { BRIDGE_DEFAULTS } from '../../bridge/index.js'
import { ADMIN_DEFAULT_PORT, PKI_HTTP_DEFAULT_PORT } from '../../config/gateway-config.js'

/**
 * docker-compose.yml and the Dockerfile against the code and the README: the
 * verbs they run exist, the variables they set are read and documented, the
 * ports are the defaults the processes listen on. Nothing runs Docker here.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
const MQGATE = path.join(ROOT, 'dist', 'cli', 'mqgate.js')

const MQTT_PORT = BROKER_DEFAULTS.port
const WS_PORT = BROKER_DEFAULTS.wsPort
const API_PORT = BRIDGE_DEFAULTS.apiPort
const ADMIN_PORT = ADMIN_DEFAULT_PORT
const PKI_PORT = PKI_HTTP_DEFAULT_PORT

/** The ports each long-running verb listens on by default (cli/processes.ts). */
const LISTENERS: Record<string, readonly number[]> = {
  start: [MQTT_PORT, WS_PORT, ADMIN_PORT, API_PORT, PKI_PORT],
  broker: [MQTT_PORT, WS_PORT, ADMIN_PORT],
  bridge: [],
  api: [API_PORT, PKI_PORT]
}
/** What moves them: none may be set to another port, or the mappings and probes below point nowhere. */
const PORT_VARIABLES = { MQGATE_MQTT_PORT: MQTT_PORT, MQGATE_WS_PORT: WS_PORT, MQGATE_API_PORT: API_PORT, MQGATE_ADMIN_PORT: ADMIN_PORT, MQGATE_PKI_HTTP_PORT: PKI_PORT }

type EnvValue = string | number | boolean | null

interface Service {
  image?: string
  build?: unknown
  command?: string | string[]
  environment?: Record<string, EnvValue> | string[]
  ports?: Array<string | number | { target: number | string, published?: number | string }>
  volumes?: Array<string | { type?: string, source?: string, target: string }>
  healthcheck?: { test?: string | string[], disable?: boolean }
  deploy?: { replicas?: number }
  scale?: number
  stop_grace_period?: string
}

interface ComposeFile {
  services: Record<string, Service>
  volumes?: Record<string, unknown>
}

function text (file: string): string {
  return readFileSync(path.join(ROOT, file), 'utf8')
}

function compose (): ComposeFile {
  return parse(text('docker-compose.yml'), { merge: true }) as ComposeFile
}

/** Services that run the mqgate image: the ones built from this repository. */
function mqgateServices (file: ComposeFile): Array<[string, Service]> {
  return Object.entries(file.services).filter(([, service]) => service.build !== undefined)
}

function words (command: string | string[] | undefined): string[] {
  if (command === undefined) return []
  return Array.isArray(command) ? command.map(String) : command.trim().split(/\s+/)
}

function verbOf (name: string, service: Service): string {
  const verb = words(service.command)[0]
  assert.ok(verb !== undefined, `service ${name} runs the image's default command instead of naming its verb`)
  return verb
}

function environmentOf (service: Service): Map<string, string> {
  const env = new Map<string, string>()
  const raw = service.environment ?? {}
  if (Array.isArray(raw)) {
    for (const entry of raw) {
      const at = entry.indexOf('=')
      env.set(at === -1 ? entry : entry.slice(0, at), at === -1 ? '' : entry.slice(at + 1))
    }
  } else {
    for (const [key, value] of Object.entries(raw)) env.set(key, value === null ? '' : String(value))
  }
  return env
}

/** Container-side ports of a service's `ports` entries (short and long syntax). */
function containerPorts (service: Service): number[] {
  return (service.ports ?? []).map(entry => {
    const target = typeof entry === 'object' ? String(entry.target) : String(entry).split(':').at(-1) ?? ''
    const port = target.replace(/\/(tcp|udp)$/, '')
    assert.match(port, /^\d+$/, `a single container port, got ${JSON.stringify(entry)}`)
    return Number(port)
  })
}

function healthcheckWords (service: Service): string[] {
  const test = service.healthcheck?.test
  return Array.isArray(test) ? test.map(String) : test === undefined ? [] : ['CMD-SHELL', test]
}

/** The text of a README section: from its heading to the next heading of the same or a higher level. */
function section (markdown: string, heading: string): string {
  const lines = markdown.split('\n')
  const start = lines.findIndex(line => line.trim() === heading)
  assert.notEqual(start, -1, `README has a "${heading}" section`)
  const level = heading.indexOf(' ')
  const end = lines.findIndex((line, i) => i > start && /^#+ /.test(line) && line.indexOf(' ') <= level)
  return lines.slice(start + 1, end === -1 ? undefined : end).join('\n')
}

/** Verbs named in the README's "What runs" table: `mqgate start`, `mqgate org\|ca\|...`. */
function readmeVerbs (): Set<string> {
  const verbs = new Set<string>()
  for (const match of section(text('README.md'), '## What runs').matchAll(/^\|\s*`mqgate ([a-z-]+(?:\\\|[a-z-]+)*)/gm)) {
    for (const verb of match[1].split('\\|')) verbs.add(verb)
  }
  return verbs
}

/** Variables the code reads: `'MQGATE_X'` literals (the config reader) and `env.MQGATE_X` accesses (the entry). */
function variablesReadByCode (): Set<string> {
  const names = new Set<string>()
  for (const file of ['config/gateway-config.ts', 'cli/mqgate.ts']) {
    const source = text(file)
    for (const match of source.matchAll(/'(MQGATE_[A-Z0-9_]+|REDIS_URL)'/g)) names.add(match[1])
    for (const match of source.matchAll(/\benv\.(MQGATE_[A-Z0-9_]+|REDIS_URL)\b/g)) names.add(match[1])
  }
  return names
}

function variablesDocumentedInReadme (): Set<string> {
  const environment = section(text('README.md'), '### Environment')
  return new Set([...environment.matchAll(/`(MQGATE_[A-Z0-9_]+|REDIS_URL)`/g)].map(match => match[1]))
}

function isMqgateVariable (name: string): boolean {
  return name.startsWith('MQGATE_') || name === 'REDIS_URL'
}

interface Run { code: number | null, stdout: string, stderr: string }

async function node (args: string[], input?: string): Promise<Run> {
  return await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', chunk => { stdout += chunk })
    child.stderr.on('data', chunk => { stderr += chunk })
    child.on('error', reject)
    child.on('close', code => resolve({ code, stdout, stderr }))
    child.stdin.end(input ?? '')
  })
}

/** A compose duration (`15s`, `1m30s`, `500ms`) in milliseconds; Docker's default stop grace is 10 s. */
function durationMs (duration: string | undefined): number {
  if (duration === undefined) return 10_000
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001 }
  const parts = [...String(duration).matchAll(/(\d+(?:\.\d+)?)(ms|us|h|m|s)/g)]
  assert.equal(parts.map(p => p[0]).join(''), String(duration), `a compose duration, got ${duration}`)
  return parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]], 0)
}

// --- the Dockerfile, as instructions grouped by stage ---

interface Instruction { keyword: string, args: string }
interface Stage { name?: string, instructions: Instruction[] }

function dockerfileStages (): Stage[] {
  const instructions: Instruction[] = []
  let current = ''
  for (const line of text('Dockerfile').split('\n')) {
    const trimmed = line.trim()
    if (trimmed.startsWith('#') || (trimmed === '' && current === '')) continue
    if (trimmed.endsWith('\\')) { current += trimmed.slice(0, -1) + ' '; continue }
    current += trimmed
    const [keyword, ...rest] = current.trim().split(/\s+/)
    instructions.push({ keyword: keyword.toUpperCase(), args: rest.join(' ') })
    current = ''
  }
  const stages: Stage[] = []
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') stages.push({ name: /\sAS\s+(\S+)/i.exec(instruction.args)?.[1], instructions: [] })
    else stages.at(-1)?.instructions.push(instruction)
  }
  return stages
}

function execForm (instruction: Instruction | undefined): string[] {
  assert.ok(instruction !== undefined)
  assert.ok(instruction.args.startsWith('['), `${instruction.keyword} uses the exec (JSON) form`)
  return JSON.parse(instruction.args) as string[]
}

function last (stage: Stage, keyword: string): Instruction | undefined {
  return stage.instructions.filter(i => i.keyword === keyword).at(-1)
}

interface Copy { from?: string, sources: string[], dest: string }

function copiesOf (stage: Stage): Copy[] {
  return stage.instructions.filter(i => i.keyword === 'COPY' || i.keyword === 'ADD').map(({ args }) => {
    const parts = args.split(/\s+/)
    const flags = parts.filter(p => p.startsWith('--'))
    const paths = args.includes('[') ? JSON.parse(args.slice(args.indexOf('['))) as string[] : parts.filter(p => !p.startsWith('--'))
    return { from: flags.find(f => f.startsWith('--from='))?.slice('--from='.length), sources: paths.slice(0, -1), dest: paths.at(-1) ?? '' }
  })
}

/** The stage's working directory after its instructions (WORKDIR accumulates). */
function workdirOf (stage: Stage): string {
  return stage.instructions.filter(i => i.keyword === 'WORKDIR').reduce((dir, i) => path.posix.resolve(dir, i.args), '/')
}

describe('deploying with docker-compose', () => {
  it('runs only mqgate verbs that exist and that the README lists', async () => {
    const file = compose()
    const services = mqgateServices(file)
    assert.ok(services.length > 0, 'docker-compose.yml builds the mqgate image')
    const defaultCommand = execForm(last(dockerfileStages().at(-1) ?? { instructions: [] }, 'CMD'))
    const verbs = new Set([...services.map(([name, service]) => verbOf(name, service)), defaultCommand[0]])
    const documented = readmeVerbs()
    await Promise.all([...verbs].map(async verb => {
      const run = await node([MQGATE, verb, '--help'])
      assert.equal(run.code, 0, `mqgate ${verb} --help exits 0:\n${run.stderr}`)
      assert.ok(documented.has(verb), `the README's "What runs" table lists mqgate ${verb}`)
    }))
  })

  it('sets only variables the code reads and the README and --help document', async () => {
    const read = variablesReadByCode()
    const documented = variablesDocumentedInReadme()
    const help = (await node([MQGATE, '--help'])).stdout
    const set = new Set(Object.values(compose().services).flatMap(service => [...environmentOf(service).keys()]).filter(isMqgateVariable))
    assert.ok(set.has('REDIS_URL'), 'the services share Redis')
    for (const name of set) {
      assert.ok(read.has(name), `${name} is read by config/gateway-config.ts or cli/mqgate.ts`)
      assert.ok(documented.has(name), `${name} is in the README's Environment section`)
      assert.match(help, new RegExp(`\\b${name}\\b`), `${name} is in mqgate --help`)
    }
  })

  it('publishes and probes the ports the processes listen on by default', () => {
    for (const [name, service] of mqgateServices(compose())) {
      const verb = verbOf(name, service)
      const listeners = LISTENERS[verb]
      assert.ok(listeners !== undefined, `service ${name} runs a process verb (start, broker, bridge, api), not ${verb}`)
      const env = environmentOf(service)
      for (const [variable, port] of Object.entries(PORT_VARIABLES)) {
        const value = env.get(variable)
        assert.ok(value === undefined || value === String(port), `service ${name} leaves ${variable} at ${port}, got ${value}`)
      }
      const own = listeners
      for (const port of containerPorts(service)) assert.ok(own.includes(port), `service ${name} (${verb}) publishes container port ${port}, on which it does not listen (it listens on ${own.join(', ') || 'none'})`)
      const probe = healthcheckWords(service).join(' ')
      if (own.length > 0) assert.ok(own.some(port => new RegExp(`\\b${port}\\b`).test(probe)), `service ${name}'s healthcheck probes one of its ports (${own.join(', ')}): ${probe}`)
    }
    const services = mqgateServices(compose())
    const published = (verb: string): number[] => services.filter(([name, s]) => verbOf(name, s) === verb).flatMap(([, s]) => containerPorts(s))
    assert.ok(published('broker').includes(MQTT_PORT), `the brokers publish MQTT on container port ${MQTT_PORT}`)
    assert.ok(published('broker').includes(WS_PORT), `the brokers publish MQTT over WebSocket on container port ${WS_PORT}`)
    assert.ok(published('broker').includes(ADMIN_PORT), `the brokers publish the admin API on container port ${ADMIN_PORT}`)
    assert.ok(published('api').includes(API_PORT), `the temps API is published on container port ${API_PORT}`)
    assert.ok(published('api').includes(PKI_PORT), `the CRLs and OCSP responders (plain HTTP) are published on container port ${PKI_PORT}`)
    const broker = services.find(([name, s]) => verbOf(name, s) === 'broker')?.[1]
    assert.match(healthcheckWords(broker ?? {}).join(' '), new RegExp(`port: ?${ADMIN_PORT}\\b.*/healthz`), 'the broker healthcheck asks the admin API for /healthz')
  })

  it('runs redis with AOF on a named volume', () => {
    const file = compose()
    const redis = Object.entries(file.services).filter(([, s]) => s.image !== undefined && /^(docker\.io\/)?(library\/)?redis(:|$)/.test(s.image))
    assert.equal(redis.length, 1, 'one Redis service')
    const [name, service] = redis[0]
    const args = words(service.command)
    const appendonly = args.indexOf('--appendonly')
    assert.ok(appendonly !== -1 && args[appendonly + 1] === 'yes', `${name} runs with --appendonly yes, got ${args.join(' ')}`)
    const data = (service.volumes ?? []).map(v => typeof v === 'string' ? { source: v.split(':')[0], target: v.split(':')[1] } : v).find(v => v.target === '/data')
    assert.ok(data?.source !== undefined && Object.keys(file.volumes ?? {}).includes(data.source), `${name} keeps /data (the AOF) on a named volume`)
  })

  it('runs exactly two broker replicas', () => {
    const brokers = mqgateServices(compose()).filter(([name, s]) => verbOf(name, s) === 'broker')
    const replicas = brokers.reduce((sum, [, s]) => sum + (s.deploy?.replicas ?? s.scale ?? 1), 0)
    assert.equal(replicas, 2)
  })

  it('gives every service a healthcheck', () => {
    for (const [name, service] of Object.entries(compose().services)) {
      const test = healthcheckWords(service)
      assert.ok(service.healthcheck?.disable !== true && test.length > 1 && test[0] !== 'NONE', `service ${name} has a healthcheck`)
      assert.ok(['CMD', 'CMD-SHELL'].includes(test[0]), `service ${name}'s healthcheck starts with CMD or CMD-SHELL`)
    }
  })

  it('gives each mqgate process longer to stop than its own shutdown limit', () => {
    const limit = /const SHUTDOWN_LIMIT_MS = ([\d_]+)/.exec(text('cli/mqgate.ts'))?.[1]
    assert.ok(limit !== undefined, 'cli/mqgate.ts states its shutdown limit as SHUTDOWN_LIMIT_MS')
    for (const [name, service] of mqgateServices(compose())) {
      assert.ok(durationMs(service.stop_grace_period) > Number(limit.replaceAll('_', '')), `service ${name}'s stop_grace_period (${service.stop_grace_period ?? 'default 10s'}) exceeds mqgate's ${limit} ms, so Docker does not SIGKILL a graceful stop`)
    }
  })

  it('writes every node healthcheck as valid JavaScript', async () => {
    const scripts = Object.entries(compose().services).flatMap(([name, service]) => {
      const test = healthcheckWords(service)
      return test[0] === 'CMD' && test[1] === 'node' && test[2] === '-e' ? [[name, test[3]] as const] : []
    })
    assert.ok(scripts.length > 0)
    await Promise.all(scripts.map(async ([name, script]) => {
      assert.doesNotMatch(script, /\$/, `service ${name}'s healthcheck has no $ for compose to interpolate`)
      const check = await node(['--check', '-'], script)
      assert.equal(check.code, 0, `service ${name}'s healthcheck parses:\n${check.stderr}`)
    }))
  })

  it('applies the fixes in patches/ in both stages, as installing with --ignore-scripts skips postinstall', () => {
    const postinstall = (JSON.parse(text('package.json')) as { scripts: Record<string, string> }).scripts.postinstall
    assert.equal(postinstall, 'patch-package', 'npm install applies patches/')
    for (const stage of dockerfileStages()) {
      const runs = stage.instructions.filter(i => i.keyword === 'RUN').map(i => i.args)
      const install = runs.findIndex(run => /\bnpm ci\b/.test(run))
      if (install === -1) continue
      assert.ok(copiesOf(stage).some(copy => copy.sources.includes('patches')), `stage ${stage.name ?? '?'} copies patches/ before installing`)
      const scripts = /--ignore-scripts/.test(runs[install])
      assert.ok(!scripts || runs.slice(install).some(run => /\bnpx patch-package\b/.test(run)), `stage ${stage.name ?? '?'} installs with --ignore-scripts, so it runs npx patch-package itself`)
    }
  })

  it('builds an image whose entrypoint runs dist/cli/mqgate.js from the runtime stage', () => {
    const stages = dockerfileStages()
    const runtime = stages.at(-1)
    assert.ok(runtime !== undefined && stages.length >= 2, 'a build stage and a runtime stage')
    const entrypoint = execForm(last(runtime, 'ENTRYPOINT'))
    assert.equal(entrypoint[0], 'node')
    const workdir = workdirOf(runtime)
    const script = path.posix.resolve(workdir, entrypoint[1] ?? '')
    assert.equal(path.posix.relative(workdir, script), 'dist/cli/mqgate.js', `ENTRYPOINT runs dist/cli/mqgate.js under WORKDIR ${workdir}`)
    // Where each COPY --from puts the build stage's dist/ (a directory source copies its contents into dest).
    const distTargets = copiesOf(runtime).flatMap(copy => {
      const from = stages.find(s => s.name === copy.from)
      if (from === undefined) return []
      const dist = path.posix.join(workdirOf(from), 'dist')
      return copy.sources.map(s => path.posix.resolve('/', s)).filter(s => dist === s || dist.startsWith(s.replace(/\/$/, '') + '/'))
        .map(s => path.posix.join(path.posix.resolve(workdir, copy.dest), path.posix.relative(s, dist)))
    })
    assert.ok(distTargets.some(target => script === path.posix.join(target, 'cli/mqgate.js')), `the runtime stage copies the build's dist/ to where ENTRYPOINT runs it (copied to: ${distTargets.join(', ') || 'nowhere'})`)
    const install = runtime.instructions.find(i => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args))
    assert.match(install?.args ?? '', /--omit=dev/, 'the runtime stage installs production dependencies only')
    assert.ok(copiesOf(runtime).some(c => c.from === undefined && c.sources.includes('package.json') && c.sources.includes('package-lock.json')), 'npm ci installs from package.json (with its overrides) and the lockfile')
    assert.equal(last(runtime, 'USER')?.args, 'node')
    assert.match(runtime.instructions.filter(i => i.keyword === 'ENV').map(i => i.args).join(' '), /\bMQGATE_DATA_DIR=\/data\b/)
    assert.match(last(runtime, 'VOLUME')?.args ?? '', /\/data\b/)
    const exposed = runtime.instructions.filter(i => i.keyword === 'EXPOSE').flatMap(i => i.args.split(/\s+/)).map(p => Number(p.replace(/\/tcp$/, '')))
    assert.deepEqual(new Set(exposed), new Set([MQTT_PORT, WS_PORT, API_PORT, ADMIN_PORT, PKI_PORT]))
  })

  it('keeps the containers\' logs JSON, even on a TTY (docker run -t), where mqgate would pick pretty lines', () => {
    const runtime = dockerfileStages().at(-1)
    assert.ok(runtime !== undefined)
    assert.match(runtime.instructions.filter(i => i.keyword === 'ENV').map(i => i.args).join(' '), /\bMQGATE_LOG_FORMAT=json\b/, 'the image sets MQGATE_LOG_FORMAT=json')
    for (const [name, service] of mqgateServices(compose())) {
      const format = environmentOf(service).get('MQGATE_LOG_FORMAT')
      assert.ok(format === undefined || format === 'json', `service ${name} keeps MQGATE_LOG_FORMAT json, got ${format}`)
      assert.ok(!words(service.command).includes('--log-format'), `service ${name} leaves --log-format alone`)
    }
  })

  it('keeps dist/test out of the runtime stage', () => {
    const stages = dockerfileStages()
    const runtime = stages.at(-1)
    assert.ok(runtime !== undefined)
    const testsIgnored = text('.dockerignore').split('\n').map(l => l.trim()).some(l => /^\/?test\/?$/.test(l))
    for (const copy of copiesOf(runtime)) {
      const from = copy.from === undefined ? undefined : stages.find(s => s.name === copy.from)
      const distTest = copy.from === undefined ? 'dist/test' : path.posix.join(workdirOf(from ?? { instructions: [] }), 'dist/test')
      for (const source of copy.sources) {
        const resolved = copy.from === undefined ? path.posix.normalize(source).replace(/^\.\/?|\/$/g, '') : path.posix.resolve('/', source)
        assert.ok(resolved !== distTest && !resolved.startsWith(distTest + '/'), `the runtime stage copies ${source}`)
        const containsDistTest = resolved === '' || resolved === '/' || distTest.startsWith(resolved.replace(/\/$/, '') + '/')
        if (!containsDistTest) continue
        const removed = (from?.instructions ?? []).some(i => i.keyword === 'RUN' && /\brm\s+-\w*r\w*\s+(?:[^;&|]*\s)?(?:\S*\/)?dist\/test\b/.test(i.args))
        assert.ok(removed || testsIgnored, `the runtime stage copies ${source}, which holds dist/test unless the build removes it or .dockerignore leaves test/ out`)
      }
    }
  })
})
