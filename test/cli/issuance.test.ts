import assert from 'node:assert/strict'
import { createHash, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import tls from 'node:tls'
import { connect, endAll, tryConnect } from '../support/mqtt-client.js'
import { assertExitedZero as assertDone, cliJson } from '../support/mqgate-cli.js'
import { startMqgateProcess, type MqgateProcess } from '../support/mqgate-process.js'
import { mintCa } from '../support/pki.js'
import { within } from '../support/stack.js'
import { startTempsRecorder, type TempsRecorder } from '../support/temps-recorder.js'

/**
 * Every certificate a managed CA signs is on the record (design.md, issue 10
 * item 6): the demo identities of the first start, the organisation's server
 * certificate, the bridge's a:mqgate-bridge certificate and the admin API's
 * own. Observed as an operator would: a real `mqgate start` child, the
 * `mqgate` CLI, MQTT clients and TLS handshakes.
 */

describe('one issuance path: what mqgate signs itself is listed and revocable', function () {
  this.timeout(90_000)
  let gateway: MqgateProcess
  let recorder: TempsRecorder

  before(async () => {
    // The bridge signs in with a:mqgate-bridge to an external temps API (to mqgate's own it POSTs
    // nothing): one that trusts the demo CA, known once the first start has made it.
    recorder = await startTempsRecorder(mintCa('placeholder').certPem)
    gateway = await startMqgateProcess({ MQGATE_TEMPS_URL: recorder.url, MQGATE_TEMPS_CA_FILE: recorder.caFile })
    await recorder.trust(gateway.caPem)
  })
  after(async () => {
    await gateway?.stop()
    await recorder?.close()
  })

  const json = async (args: readonly string[]): Promise<any> => await cliJson(gateway.cli, args)
  const demoDevice = (): Parameters<typeof tryConnect>[0] =>
    ({ port: gateway.mqttPort, caPem: gateway.caPem, cert: gateway.bootstrap('d:sensor:demo-001'), clientId: 'd:demo:sensor:demo-001', skipServerNameCheck: true })

  it('lists the demo identities of the first start in `cert list demo`, each with its file\'s fingerprint', async () => {
    const listed = (await json(['cert', 'list', 'demo'])).certificates as any[]
    for (const cn of ['d:sensor:demo-001', 'g:gw:demo-gw', 'a:demo-app']) {
      const record = listed.find(c => c.common_name === cn)
      assert.ok(record !== undefined, `${cn} in ${listed.map(c => c.common_name).join(', ')}`)
      assert.equal(record.fingerprint_sha256, new X509Certificate(gateway.bootstrap(cn).certPem).fingerprint256.replaceAll(':', '').toLowerCase())
      assert.equal(record.status, 'active')
    }
  })

  it('records the bridge\'s a:mqgate-bridge certificate under its own kind, listed only with --all, beside the server certificate', async () => {
    const device = await connect(demoDevice())
    try {
      await device.publishAsync('iot-2/evt/temp/fmt/json', '{"temperature":21.5,"time":"2020-09-28T02:54:56Z"}', { qos: 1 })
      // The bridge makes its certificate when it first forwards a reading of the organisation.
      const bridge = await within(20_000, async () => ((await json(['cert', 'list', 'demo', '--all'])).certificates as any[]).find(c => c.common_name === 'a:mqgate-bridge'))
      assert.equal(bridge.kind, 'bridge')
      const all = (await json(['cert', 'list', 'demo', '--all'])).certificates as any[]
      const server = all.find(c => c.kind === 'server')
      const served = await servedFingerprint(gateway.mqttPort, 'demo.messaging.localhost', gateway.caPem, gateway.bootstrap('a:demo-app'))
      assert.equal(server?.fingerprint_sha256, served, 'the server certificate the broker serves is on the record')
      const listed = (await json(['cert', 'list', 'demo'])).certificates as any[]
      assert.deepEqual(listed.filter(c => c.common_name === 'a:mqgate-bridge' || c.kind === 'server'), [], 'not in the operator\'s default list')
      const text = await gateway.cli(['cert', 'list', 'demo', '--all'])
      assertDone(text)
      assert.match(text.stdout, /^ID\s+KIND\s+COMMON_NAME/m)
      assert.match(text.stdout, /\bbridge\s+a:mqgate-bridge\b/)
    } finally {
      await endAll(device)
    }
  })

  it('replaces a revoked bridge certificate at the next reading, so a leaked bridge key can be revoked', async () => {
    const bridgeCerts = async (): Promise<any[]> => ((await json(['cert', 'list', 'demo', '--all'])).certificates as any[]).filter(c => c.kind === 'bridge')
    const device = await connect(demoDevice())
    try {
      await device.publishAsync('iot-2/evt/temp/fmt/json', '{"temperature":22.5,"time":"2020-09-28T02:55:56Z"}', { qos: 1 })
      const first = await within(20_000, async () => (await bridgeCerts()).find(c => c.status === 'active'))
      assertDone(await gateway.cli(['cert', 'revoke', 'demo', first.fingerprint_sha256]))
      await device.publishAsync('iot-2/evt/temp/fmt/json', '{"temperature":22.6,"time":"2020-09-28T02:56:56Z"}', { qos: 1 })
      const renewed = await within(20_000, async () => (await bridgeCerts()).find(c => c.status === 'active'))
      assert.notEqual(renewed.fingerprint_sha256, first.fingerprint_sha256)
    } finally {
      await endAll(device)
    }
  })

  it('issues a server certificate from the managed CA with `server-cert issue`, on the record and served once activated', async () => {
    const issued = await json(['server-cert', 'issue', 'demo', '--san', 'sensors.example.com', '--days', '30'])
    assert.deepEqual(issued.names, ['demo.messaging.localhost', 'sensors.example.com'])
    assertDone(await gateway.cli(['server-cert', 'activate', 'demo', issued.id]))
    const served = await servedFingerprint(gateway.mqttPort, 'demo.messaging.localhost', gateway.caPem, gateway.bootstrap('a:demo-app'))
    assert.equal(served, issued.fingerprint_sha256)
    const recorded = ((await json(['cert', 'list', 'demo', '--all'])).certificates as any[]).find(c => c.fingerprint_sha256 === served)
    assert.equal(recorded?.kind, 'server')
    assert.equal(recorded?.validity_days, 30)
  })

  it('records the admin API\'s own certificate, the one its port serves', async () => {
    const records = JSON.parse(readFileSync(path.join(gateway.dataDir, 'admin', 'issued.json'), 'utf8')) as any[]
    const served = await servedFingerprint(gateway.adminPort, 'localhost', readFileSync(path.join(gateway.dataDir, 'admin', 'ca.pem'), 'utf8'))
    assert.deepEqual(records.map(r => [r.kind, r.fingerprint]), [['admin-api', served]])
  })

  it('revokes the demo device by its certificate\'s fingerprint, and the broker refuses it from then on', async () => {
    await endAll(await connect(demoDevice()))
    // The fingerprint as an operator reads it off the file (`openssl x509 -fingerprint -sha256`).
    const fingerprint = new X509Certificate(gateway.bootstrap('d:sensor:demo-001').certPem).fingerprint256
    const revoked = await json(['cert', 'revoke', 'demo', fingerprint])
    assert.equal(revoked.status, 'revoked')
    assert.deepEqual(await tryConnect(demoDevice()), { outcome: 'connack', returnCode: 5 })
    const listed = ((await json(['cert', 'list', 'demo'])).certificates as any[]).find(c => c.common_name === 'd:sensor:demo-001')
    assert.equal(listed.status, 'revoked')
  })
})

/** SHA-256 of the certificate a TLS server answers with, lowercase hex. */
async function servedFingerprint (port: number, servername: string, caPem: string, client?: { certPem: string, keyPem: string }): Promise<string> {
  return await new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, ca: caPem, checkServerIdentity: () => undefined, ...(client === undefined ? {} : { cert: client.certPem, key: client.keyPem }) }, () => {
      const der = socket.getPeerX509Certificate()?.raw
      socket.destroy()
      if (der === undefined) reject(new Error('no peer certificate'))
      else resolve(createHash('sha256').update(der).digest('hex'))
    })
    socket.once('error', reject)
  })
}
