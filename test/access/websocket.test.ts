import assert from 'node:assert/strict'
import https from 'node:https'
import { startTestGateway, type TestGateway } from '../support/gateway.js'
import { closed, collect, connect, endAll, subscribeGranted } from '../support/mqtt-client.js'
import { freePort } from '../support/redis-server.js'

/**
 * MQTT over secure WebSocket is a way in, never a way around (design.md,
 * "Transports"): past the identity path (test/access/transports.contract.test.ts)
 * a WebSocket client meets the same topic rules and frame limit as one on the
 * TLS port, and talks with TLS clients of its organisation only.
 */
describe('access: MQTT over secure WebSocket', function () {
  this.timeout(30_000)
  let gw: TestGateway
  const MAX_PACKET = 4096

  before(async () => { gw = await startTestGateway({ orgs: ['acme', 'globex'], wsPort: await freePort(), limits: { maxPacketBytes: MAX_PACKET } }) })
  after(async () => await gw.close())

  const overWs = (orgId: string, cn: string, clientId: string): Parameters<typeof connect>[0] =>
    ({ port: gw.wsPort as number, transport: 'wss', servername: gw.serverName(orgId), caPem: gw.caOf(orgId), cert: gw.issue(orgId, cn), clientId })
  const overTls = (orgId: string, cn: string, clientId: string): Parameters<typeof connect>[0] =>
    ({ port: gw.port, servername: gw.serverName(orgId), caPem: gw.caOf(orgId), cert: gw.issue(orgId, cn), clientId })

  it('rewrites a device\'s short-form event to its canonical topic for an application on the TLS port, and keeps it in its organisation', async () => {
    const app = await connect(overTls('acme', 'a:dashboard', 'a:acme:dashboard'))
    const outsider = await connect(overTls('globex', 'a:dashboard', 'a:globex:dashboard'))
    assert.deepEqual(await subscribeGranted(app, { 'iot-2/type/+/id/+/evt/+/fmt/+': { qos: 1 } }), [1])
    assert.deepEqual(await subscribeGranted(outsider, { 'iot-2/type/+/id/+/evt/+/fmt/+': { qos: 1 } }), [1])
    const seen = collect(app)
    const leaked = collect(outsider)
    const device = await connect(overWs('acme', 'd:sensor:ws-1', 'd:acme:sensor:ws-1'))
    await device.publishAsync('iot-2/evt/status/fmt/json', '{"on":true}', { qos: 1 })
    assert.equal((await seen.next()).topic, 'iot-2/type/sensor/id/ws-1/evt/status/fmt/json')
    assert.equal(leaked.messages.length, 0)
    await endAll(device, app, outsider)
  })

  it('closes a WebSocket device that publishes as another device, as on the TLS port', async () => {
    const device = await connect(overWs('acme', 'd:sensor:ws-2', 'd:acme:sensor:ws-2'))
    device.publish('iot-2/type/sensor/id/someone-else/evt/status/fmt/json', '{}', { qos: 0 })
    assert.equal(await closed(device), true)
    const line = await gw.logs.waitFor(l => l.event === 'publish.refused' && l.clientId === 'd:acme:sensor:ws-2')
    assert.equal(line.code, 'BROKER_ERR_TOPIC_NOT_OWNED')
    await endAll(device)
  })

  it('closes a WebSocket device whose packet declares more than MQGATE_MAX_PACKET_BYTES', async () => {
    const device = await connect(overWs('acme', 'd:sensor:ws-3', 'd:acme:sensor:ws-3'))
    device.publish('iot-2/evt/status/fmt/json', Buffer.alloc(MAX_PACKET * 2), { qos: 0 })
    assert.equal(await closed(device), true)
    await gw.logs.waitFor(l => l.code === 'BROKER_ERR_PACKET_TOO_LARGE')
    await endAll(device)
  })

  it('answers a plain HTTPS request on the WebSocket port with 426 and what is served there', async () => {
    const answer = await new Promise<{ status: number, body: string }>((resolve, reject) => {
      https.get({ host: '127.0.0.1', port: gw.wsPort, path: '/', servername: gw.serverName('acme'), ca: gw.caOf('acme'), checkServerIdentity: () => undefined }, res => {
        let body = ''
        res.setEncoding('utf8').on('data', chunk => { body += chunk }).on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      }).on('error', reject)
    })
    assert.equal(answer.status, 426)
    assert.match(answer.body, /\/mqtt/)
  })
})
