import assert from 'node:assert/strict'
import https from 'node:https'
import { mintCa } from '../support/pki.js'
import { startMqgateProcess, type MqgateProcess } from '../support/mqgate-process.js'
import { connect, endAll, sleep } from '../support/mqtt-client.js'
import { within } from '../support/stack.js'
import { startTempsRecorder, type TempsRecorder } from '../support/temps-recorder.js'

const reading = (n: number): string => JSON.stringify({ temperature: n, time: new Date(Date.UTC(2024, 5, 1, 0, 0, 0, n)).toISOString() })

/** GET /healthz on the admin port; resolves the status, rejects on a timeout (a starved event loop). */
async function healthz (mqgate: MqgateProcess, timeoutMs: number): Promise<number> {
  return await new Promise((resolve, reject) => {
    const request = https.get({ host: '127.0.0.1', port: mqgate.adminPort, path: '/healthz', ca: mqgate.adminCaPem, checkServerIdentity: () => undefined, timeout: timeoutMs }, response => {
      response.resume().on('end', () => resolve(response.statusCode ?? 0))
    })
    request.on('timeout', () => request.destroy(new Error(`/healthz did not answer within ${timeoutMs} ms`)))
    request.on('error', reject)
  })
}

// Issue 18, item 3: one reading the temps API keeps refusing (left pending in
// the `forward` group) while it accepts the next; the store stage's periodic
// trim (every 10 s) then left the in-memory log with a negative lag, and both
// stages spun on reads that never waited: /healthz, publishes and SIGTERM starved.
describe('bridge: one reading the temps API keeps refusing (embedded mode)', function () {
  this.timeout(90_000)
  let mqgate: MqgateProcess
  let recorder: TempsRecorder

  before(async () => {
    recorder = await startTempsRecorder(mintCa('Placeholder CA').certPem)
    mqgate = await startMqgateProcess({ MQGATE_TEMPS_URL: recorder.url, MQGATE_TEMPS_CA_FILE: recorder.caFile, MQGATE_BRIDGE_NAME: 'refused-reading' })
    // The bridge's client certificate is issued by the demo organisation's CA.
    await recorder.trust(mqgate.caPem)
    recorder.answerFor(body => body?.temperature === 0 ? 503 : undefined)
  })
  after(async () => {
    if (mqgate?.alive()) mqgate.child.kill('SIGKILL')
    await mqgate?.stop()
    await recorder?.close()
  })

  it('keeps answering /healthz, delivers every other reading and stops on SIGTERM', async () => {
    const cert = mqgate.bootstrap('d:sensor:demo-001')
    const device = await connect({ port: mqgate.mqttPort, caPem: mqgate.caPem, cert, clientId: 'd:demo:sensor:demo-001', skipServerNameCheck: true })
    const delivered = (): Set<number> => new Set(recorder.posts.map(p => p.body?.temperature as number))
    try {
      await device.publishAsync('iot-2/evt/temp/fmt/json', reading(0), { qos: 1 })
      await device.publishAsync('iot-2/evt/temp/fmt/json', reading(1), { qos: 1 })
      await within(10_000, async () => delivered().has(1) ? true : undefined)
      // Quiet past the store stage's next trim (every 10 s): only the refused
      // reading is left pending, every other entry is acknowledged by both groups.
      await sleep(11_000)
      let n = 2
      for (; n < 12; n++) {
        assert.equal(await healthz(mqgate, 3000), 200)
        await Promise.race([
          device.publishAsync('iot-2/evt/temp/fmt/json', reading(n), { qos: 1 }),
          sleep(3000).then(() => { throw new Error(`the PUBACK of reading ${n} did not come within 3 s`) })
        ])
        await sleep(200)
      }
      const expected = Array.from({ length: n - 1 }, (_, i) => i + 1)
      await within(10_000, async () => expected.every(t => delivered().has(t)) ? true : undefined)
      assert.ok(!delivered().has(0), 'the refused reading is still refused')
    } finally {
      device.end(true)
      await endAll()
    }
    const started = Date.now()
    const exited = new Promise(resolve => mqgate.child.once('exit', resolve))
    mqgate.child.kill('SIGTERM')
    await Promise.race([exited, sleep(10_000).then(() => { throw new Error('SIGTERM did not stop mqgate within 10 s') })])
    assert.ok(Date.now() - started < 10_000)
  })
})
