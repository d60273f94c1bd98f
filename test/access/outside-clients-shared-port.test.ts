import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { serverNameOf } from '../../access/index.js'
import { runCommand, showResult, type CliResult } from '../support/mqgate-cli.js'
import type { TestCert } from '../support/pki.js'
import { freePort } from '../support/redis-server.js'
import { startTestStack, within, type TestStack } from '../support/stack.js'
import { makeTempDir } from '../support/temp-dir.js'

const READING = '{"temperature": 21.5, "time": "2024-01-01T00:00:00Z"}'
const TOPIC = 'iot-2/evt/temp/fmt/json'

const installed = (command: string, probe: string): boolean => spawnSync(command, [probe]).error === undefined

/**
 * Issue 12: the shared TLS port (MQGATE_TLS_PORT) with clients nobody here
 * wrote, over real sockets: mosquitto_pub offering ALPN `mqtt` publishes, and
 * curl on the same port reads the reading back over HTTPS; openssl s_client
 * gives a second opinion on the ALPN selection. mosquitto_pub sends no SNI
 * name of ours (it has no option for one): `mqgate start` lands such clients
 * in its default organisation, demo, so every client here is demo's.
 */
describe('access: mosquitto_pub, curl and openssl s_client on the shared TLS port', function () {
  this.timeout(60_000)
  let stack: TestStack
  let temp: { dir: string, remove: () => Promise<void> }
  let port = 0
  let caFile = ''
  const demo = serverNameOf('demo', 'localhost')

  before(async () => {
    temp = await makeTempDir('shared-port-clients')
    port = await freePort()
    stack = await startTestStack({ MQGATE_TLS_PORT: String(port) })
    caFile = path.join(temp.dir, 'demo-ca.pem')
    writeFileSync(caFile, stack.caPem)
  })
  after(async () => {
    await stack?.close()
    await temp?.remove()
  })

  /** A device certificate and key as files, as the command-line clients take them. */
  const deviceFiles = (deviceId: string): string[] => {
    const cert: TestCert = stack.issue(`d:sensor:${deviceId}`)
    const certFile = path.join(temp.dir, `${deviceId}.crt`)
    const keyFile = path.join(temp.dir, `${deviceId}.key`)
    writeFileSync(certFile, cert.certPem)
    writeFileSync(keyFile, cert.keyPem, { mode: 0o600 })
    return ['--cert', certFile, '--key', keyFile]
  }

  const mosquittoPub = async (deviceId: string, files: readonly string[], extra: readonly string[]): Promise<CliResult> =>
    await runCommand('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '--cafile', caFile, ...files,
      ...extra, '-i', `d:demo:sensor:${deviceId}`, '-q', '1', '-t', TOPIC, '-m', READING], { timeoutMs: 20_000 })

  /** `curl https://demo.messaging.localhost:<port>/temps` resolved to 127.0.0.1: status and parsed body. */
  const curlTemps = async (clientArgs: readonly string[]): Promise<{ status: number, body: any, run: CliResult }> => {
    const run = await runCommand('curl', ['-sS', '--cacert', caFile, ...clientArgs, '--resolve', `${demo}:${port}:127.0.0.1`,
      '-w', '\n%{http_code}', `https://${demo}:${port}/temps`])
    const lines = run.stdout.split('\n')
    const status = Number(lines.pop())
    let body: any
    try { body = JSON.parse(lines.join('\n')) } catch { body = undefined }
    return { status, body, run }
  }

  describe('mosquitto_pub and curl', () => {
    before(function () {
      if (!installed('mosquitto_pub', '--help') || !installed('curl', '--version')) {
        console.log('      (skipped: mosquitto_pub or curl is not installed; .ci/run installs mosquitto-clients)')
        this.skip()
      }
    })

    it('mosquitto_pub --tls-alpn mqtt publishes a reading at QoS 1, and curl on the same port returns it', async () => {
      const files = deviceFiles('mosq-1')
      const pub = await mosquittoPub('mosq-1', files, ['--tls-alpn', 'mqtt'])
      assert.equal(pub.status, 0, showResult(pub))
      const answer = await within(5000, async () => {
        const got = await curlTemps(files)
        return got.status === 200 && got.body?.length > 0 ? got : undefined
      })
      assert.deepEqual({ temperature: answer.body[0].temperature, time: answer.body[0].time }, JSON.parse(READING))
    })

    it('curl without a client certificate gets 403 with BROKER_ERR_NO_CLIENT_CERT', async () => {
      const answer = await curlTemps([])
      assert.equal(answer.status, 403, showResult(answer.run))
      assert.equal(answer.body?.error?.code, 'BROKER_ERR_NO_CLIENT_CERT', showResult(answer.run))
    })

    // Documented behaviour, as AWS IoT on 443: without ALPN `mqtt` the port speaks HTTPS, so an MQTT CONNECT fails.
    it('mosquitto_pub without --tls-alpn lands on HTTPS and exits non-zero', async () => {
      const from = stack.logs.lines.length
      const pub = await mosquittoPub('mosq-2', deviceFiles('mosq-2'), [])
      assert.notEqual(pub.status, 0, showResult(pub))
      // Not refused at the door: TLS succeeded, and the HTTP answer to its CONNECT is not MQTT.
      assert.match(pub.stderr, /protocol error/, showResult(pub))
      assert.equal(stack.logs.lines.slice(from).find(l => l.event === 'client.connected' || l.clientId === 'd:demo:sensor:mosq-2'), undefined)
    })
  })

  describe('openssl s_client', () => {
    const selected = async (alpn: string): Promise<string> => {
      const run = await runCommand('openssl', ['s_client', '-alpn', alpn, '-connect', `127.0.0.1:${port}`, '-noservername', '-CAfile', caFile], { timeoutMs: 20_000 })
      return /^ALPN protocol: (.+)$/m.exec(run.stdout)?.[1] ?? `none (${showResult(run)})`
    }

    it('-alpn mqtt: the server selects mqtt', async () => {
      assert.equal(await selected('mqtt'), 'mqtt')
    })

    it('-alpn http/1.1: the server selects http/1.1', async () => {
      assert.equal(await selected('http/1.1'), 'http/1.1')
    })
  })
})
