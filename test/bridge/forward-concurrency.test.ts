import assert from 'node:assert/strict'
import type { MqttClient } from 'mqtt'
import { connect, endAll } from '../support/mqtt-client.js'
import { mintCa } from '../support/pki.js'
import { startTestStack, within, type TestStack } from '../support/stack.js'
import { startTempsRecorder, type TempsRecorder } from '../support/temps-recorder.js'

const reading = (n: number): string => JSON.stringify({ temperature: n, time: new Date(Date.UTC(2024, 5, 1, 0, 0, 0, n)).toISOString() })

// Issue 18, item 7: the forward stage POSTed a batch and waited for all of it
// before reading on, so one request the temps API left unanswered held every
// later reading until its timeout (README: "readings do not wait on each other").
describe('bridge: a request the temps API never answers', function () {
  this.timeout(60_000)
  let stack: TestStack
  let recorder: TempsRecorder
  let device: MqttClient | undefined

  before(async () => {
    recorder = await startTempsRecorder(mintCa('Placeholder CA').certPem)
    stack = await startTestStack({ MQGATE_TEMPS_URL: recorder.url, MQGATE_TEMPS_CA_FILE: recorder.caFile, MQGATE_TEMPS_TIMEOUT_MS: '30000' })
    // The bridge's client certificate is issued by the demo organisation's CA.
    await recorder.trust(stack.caPem)
  })
  after(async () => {
    await endAll(device)
    await recorder?.close()
    await stack?.close()
  })

  it('holds up no other reading', async () => {
    recorder.answerFor(body => body?.temperature === 0 ? 0 : undefined)
    device = await connect({ port: stack.mqttPort, caPem: stack.caPem, cert: stack.issue('d:sensor:patient'), clientId: 'd:demo:sensor:patient', skipServerNameCheck: true })
    await device.publishAsync('iot-2/evt/temp/fmt/json', reading(0), { qos: 1 })
    await new Promise(resolve => setTimeout(resolve, 500))
    const started = Date.now()
    for (let n = 1; n <= 20; n++) await device.publishAsync('iot-2/evt/temp/fmt/json', reading(n), { qos: 1 })
    const delivered = (): Set<number> => new Set(recorder.posts.map(p => p.body?.temperature as number))
    await within(20_000, async () => Array.from({ length: 20 }, (_, i) => i + 1).every(t => delivered().has(t)) ? true : undefined)
    const elapsed = Date.now() - started
    assert.ok(elapsed < 5000, `the 20 readings reached the API ${elapsed} ms after they were published, behind the unanswered one`)
  })
})
