import assert from 'node:assert/strict'
import { serverNameOf } from '../../access/index.js'
import { managedCaOf } from '../../certs/index.js'
import { findPahoPython, pahoPublish, type PahoPython } from '../support/paho.js'
import { managedCaKeyOf, mintCa, mintClient, mintProfiled, type TestCert } from '../support/pki.js'
import { freePort } from '../support/redis-server.js'
import { httpsRequest, startTestStack, within, type TestStack } from '../support/stack.js'
import { makeTempDir } from '../support/temp-dir.js'
import { mqttTransport } from '../support/transports.js'

const READING = '{"temperature": 21.5, "time": "2024-01-01T00:00:00Z"}'
const REFUSALS = new Set(['tls.refused', 'connect.refused'])

/**
 * Issue 12: MQTT over secure WebSocket (MQGATE_WS_PORT) with a client nobody
 * here wrote, Python's paho-mqtt, over a real socket: a device's reading
 * reaches the store, and a certificate of a CA the organisation does not
 * trust is refused with the code mqtt.js's attempt is refused with. paho
 * connects to 127.0.0.1 and names the organisation in SNI through its own
 * `tls_set_context` (test/support/paho.ts says why). Skipped with a message
 * where no python3 can import paho.
 */
describe('access: paho-mqtt (Python) over secure WebSocket', function () {
  this.timeout(60_000)
  let stack: TestStack
  let paho: PahoPython | undefined
  let temp: { dir: string, remove: () => Promise<void> }
  let wsPort = 0
  const demo = serverNameOf('demo', 'localhost')
  const acme = serverNameOf('acme', 'localhost')

  before(async function () {
    paho = await findPahoPython()
    if (paho === undefined) {
      console.log('      (skipped: no python3 with paho-mqtt; .ci/run installs python3-paho-mqtt)')
      this.skip()
    }
    temp = await makeTempDir('paho')
    wsPort = await freePort()
    stack = await startTestStack({ MQGATE_WS_PORT: String(wsPort) })
    await stack.running.registry.createOrg('acme')
  })
  after(async () => {
    await stack?.close()
    await temp?.remove()
  })

  /** The codes the gateway logged refusing connections since line `from`. */
  const refusalsSince = (from: number): string[] => stack.logs.lines.slice(from).filter(l => REFUSALS.has(l.event)).map(l => String(l.code))

  // acme is not the default organisation: were the SNI name not sent, the
  // device would land in demo, whose CAs do not know its certificate.
  it(`publishes a reading at QoS 1 under SNI ${acme} while connecting to 127.0.0.1, and it is stored`, async () => {
    const cert = mintProfiled(managedCaKeyOf(stack.running.registry, 'acme'), 'client', ['d:sensor:paho-1'])
    const caPem = managedCaOf(stack.running.registry.require('acme')).certPem
    const result = await pahoPublish(paho as PahoPython, temp.dir, {
      port: wsPort, caPem, cert, sni: acme, clientId: 'd:acme:sensor:paho-1', topic: 'iot-2/evt/temp/fmt/json', payload: READING
    })
    assert.equal(result.outcome, 'published', JSON.stringify(result))
    const stored = await within(5000, async () => {
      const answer = await httpsRequest(stack.apiPort, { path: '/temps', caPem, cert, servername: acme })
      return answer.body?.length > 0 ? answer.body : undefined
    })
    assert.deepEqual({ temperature: stored[0].temperature, time: stored[0].time }, JSON.parse(READING))
  })

  it('is refused with a certificate of a CA the organisation does not trust, with the code mqtt.js gets: BROKER_ERR_CERT_UNTRUSTED', async () => {
    const stranger: TestCert = mintClient(mintCa('Paho stranger CA'), 'd:sensor:paho-stranger')
    const clientId = 'd:demo:sensor:paho-stranger'
    const from = stack.logs.lines.length
    const result = await pahoPublish(paho as PahoPython, temp.dir, {
      port: wsPort, caPem: stack.caPem, cert: stranger, sni: demo, clientId, topic: 'iot-2/evt/temp/fmt/json', payload: READING
    })
    assert.equal(result.outcome, 'refused', JSON.stringify(result))
    const pahoCodes = await within(3000, async () => { const codes = refusalsSince(from); return codes.length > 0 ? codes : undefined })

    const mqttJs = mqttTransport('mqtt.js over wss', { port: () => wsPort, caPem: () => stack.caPem, logs: stack.logs }, 'wss')
    const mqttJsCode = await mqttJs.attempt({ cert: stranger, servername: demo, clientId })
    assert.equal(mqttJsCode, 'BROKER_ERR_CERT_UNTRUSTED')
    assert.deepEqual([...new Set(pahoCodes)], [mqttJsCode])
  })
})
