import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { activeServerCertOf, inspectCertificate, FileRegistryStore } from '../../certs/index.js'
import { collect, connect, endAll } from '../support/mqtt-client.js'
import { freePort } from '../support/redis-server.js'
import { makeTempDir } from '../support/temp-dir.js'

const MQGATE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../cli/mqgate.js')

interface Started {
  readonly child: ChildProcess
  readonly publishLine: string
  readonly port: number
  output (): string
}

/** Runs `mqgate start` as a user would, and waits for the printed mosquitto_pub line. */
async function startMqgate (dataDir: string, env: Record<string, string> = {}): Promise<Started> {
  const child = spawn(process.execPath, [MQGATE, 'start'], {
    env: { ...process.env, MQGATE_DATA_DIR: dataDir, MQGATE_MQTT_PORT: '0', MQGATE_PKI_HTTP_PORT: '0', REDIS_URL: '', MQGATE_DEFAULT_ORG: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout?.on('data', chunk => { output += chunk })
  child.stderr?.on('data', chunk => { output += chunk })
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    const line = output.split('\n').find(l => l.startsWith('mosquitto_pub '))
    if (line !== undefined) {
      const port = Number(/ -p (\d+) /.exec(line)?.[1])
      return { child, publishLine: line, port, output: () => output }
    }
    if (child.exitCode !== null) break
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  child.kill('SIGKILL')
  throw new Error(`mqgate start printed no mosquitto_pub line:\n${output}`)
}

async function stop (child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode
  return await new Promise(resolve => {
    child.once('exit', code => resolve(code))
    child.kill('SIGTERM')
  })
}

describe('mqgate start (the README\'s two commands)', function () {
  this.timeout(60_000)
  let temp: { dir: string, remove: () => Promise<void> }

  before(async () => { temp = await makeTempDir('start') })
  after(async () => await temp.remove())

  it('creates the demo organisation and identities on an empty data dir, with private keys', async () => {
    const started = await startMqgate(temp.dir)
    try {
      const dir = path.join(temp.dir, 'orgs', 'demo', 'bootstrap')
      for (const name of ['d_sensor_demo-001', 'g_gw_demo-gw', 'a_demo-app']) {
        const cert = inspectCertificate(await readFile(path.join(dir, `${name}.crt`), 'utf8'))
        assert.equal(cert.subjectCommonNames[0], name.replaceAll('_', ':'))
        assert.equal((await stat(path.join(dir, `${name}.key`))).mode & 0o777, 0o600)
      }
      const ca = inspectCertificate(await readFile(path.join(dir, 'ca.pem'), 'utf8'))
      assert.equal(ca.isCA, true)
      const demo = await new FileRegistryStore(temp.dir).readOrg('demo')
      assert.ok(demo)
      const server = inspectCertificate(activeServerCertOf(demo).certPem)
      assert.deepEqual(server.sanDnsNames, ['demo.messaging.localhost', 'localhost'])
      assert.deepEqual(server.sanIps, ['127.0.0.1'])
      assert.doesNotMatch(started.output(), /PRIVATE KEY/)
    } finally {
      assert.equal(await stop(started.child), 0, 'SIGTERM stops it cleanly')
    }
  })

  it('prints a mosquitto_pub line that works as pasted, and the reading reaches a subscriber', async function () {
    if (spawnSync('mosquitto_pub', ['--help']).error !== undefined) {
      console.log('      (skipped: mosquitto_pub is not installed; .ci/run installs mosquitto-clients)')
      this.skip()
    }
    const started = await startMqgate(temp.dir)
    try {
      const dir = path.join(temp.dir, 'orgs', 'demo', 'bootstrap')
      const app = await connect({
        port: started.port,
        caPem: await readFile(path.join(dir, 'ca.pem'), 'utf8'),
        cert: { certPem: await readFile(path.join(dir, 'a_demo-app.crt'), 'utf8'), keyPem: await readFile(path.join(dir, 'a_demo-app.key'), 'utf8') },
        clientId: 'a:demo:demo-app',
        skipServerNameCheck: true
      })
      const inbox = collect(app)
      await app.subscribeAsync('iot-2/type/+/id/+/evt/+/fmt/+', { qos: 1 })
      const pasted = spawnSync('sh', ['-c', started.publishLine], { encoding: 'utf8', timeout: 15_000 })
      assert.equal(pasted.status, 0, `mosquitto_pub failed: ${pasted.stderr}`)
      const reading = await inbox.next()
      assert.equal(reading.topic, 'iot-2/type/sensor/id/demo-001/evt/temp/fmt/json')
      assert.deepEqual(JSON.parse(reading.payload), { temperature: 36.6, time: '2020-09-28T02:54:56Z' })
      await endAll(app)
    } finally {
      assert.equal(await stop(started.child), 0)
    }
  })

  it('prints an openssl ocsp line that works as pasted: the demo device is good, the response verifies', async () => {
    const fresh = await makeTempDir('start-ocsp')
    const started = await startMqgate(fresh.dir, { MQGATE_PKI_HTTP_PORT: String(await freePort()) })
    try {
      const line = started.output().split('\n').find(l => l.startsWith('openssl ocsp '))
      assert.ok(line !== undefined, started.output())
      const pasted = spawnSync('sh', ['-c', line], { encoding: 'utf8', timeout: 15_000 })
      assert.match(pasted.stdout, /d_sensor_demo-001\.crt: good/, pasted.stdout + pasted.stderr)
      assert.match(pasted.stderr, /Response verify OK/, pasted.stderr)
    } finally {
      await stop(started.child)
      await fresh.remove()
    }
  })

  it('reuses the demo identities on a second start', async () => {
    const file = path.join(temp.dir, 'orgs', 'demo', 'bootstrap', 'd_sensor_demo-001.crt')
    const before = await readFile(file, 'utf8')
    const started = await startMqgate(temp.dir)
    try {
      assert.equal(await readFile(file, 'utf8'), before)
      assert.doesNotMatch(started.output(), /demo identities written/)
    } finally {
      await stop(started.child)
    }
  })

  it('refuses an invalid configuration with every problem listed, exit code 1', () => {
    const result = spawnSync(process.execPath, [MQGATE, 'start'], {
      env: { ...process.env, MQGATE_DATA_DIR: temp.dir, MQGATE_MQTT_PORT: 'http', MQGATE_DOMAIN: 'bad domain', REDIS_URL: '' },
      encoding: 'utf8'
    })
    assert.equal(result.status, 1)
    assert.match(result.stderr, /MQGATE_MQTT_PORT/)
    assert.match(result.stderr, /MQGATE_DOMAIN/)
  })
})
