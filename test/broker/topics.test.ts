import assert from 'node:assert/strict'
import type { MqttClient } from 'mqtt'
import { startTestGateway, type TestGateway } from '../support/gateway.js'
import { closed, collect, connect, endAll, sleep, subscribeGranted } from '../support/mqtt-client.js'

describe('broker: topics', () => {
  let gw: TestGateway
  const clients: MqttClient[] = []

  before(async () => { gw = await startTestGateway({ orgs: ['acme', 'globex'] }) })
  after(async () => await gw.close())
  afterEach(async () => await endAll(...clients.splice(0)))

  async function client (orgId: string, commonName: string, clientId: string): Promise<MqttClient> {
    const c = await connect({ port: gw.port, servername: gw.serverName(orgId), caPem: gw.caOf(orgId), cert: gw.issue(orgId, commonName), clientId })
    clients.push(c)
    return c
  }

  it('refuses a publish to another device\'s topic, closes that connection, and delivers nothing', async () => {
    const app = await client('acme', 'a:watch', 'a:acme:watch')
    const inbox = collect(app)
    await app.subscribeAsync('iot-2/type/+/id/+/evt/+/fmt/+', { qos: 1 })
    const device = await client('acme', 'd:sensor:honest', 'd:acme:sensor:honest')
    device.publish('iot-2/type/sensor/id/victim/evt/temp/fmt/json', '{"temperature":99}', { qos: 1 })
    assert.equal(await closed(device), true, 'the broker closes the connection [MQTT-3.3.5-2]')
    const line = await gw.logs.waitFor(l => l.event === 'publish.refused' && l.clientId === 'd:acme:sensor:honest')
    assert.equal(line.code, 'BROKER_ERR_TOPIC_NOT_OWNED')
    assert.equal(line.topic, 'iot-2/type/sensor/id/victim/evt/temp/fmt/json')
    assert.match(line.fingerprint, /^[0-9a-f]{64}$/)
    await sleep(200)
    assert.deepEqual(inbox.messages, [])
  })

  it('negates a subscription outside the organisation and keeps the connection up', async () => {
    const app = await client('acme', 'a:nosy', 'a:acme:nosy')
    const inbox = collect(app)
    const granted = await subscribeGranted(app, { '#': { qos: 1 }, '$SYS/#': { qos: 0 }, '$org/globex/iot-2/#': { qos: 1 }, 'iot-2/type/+/id/+/evt/+/fmt/+': { qos: 1 } })
    assert.deepEqual(granted, [128, 128, 128, 1])
    assert.ok(gw.logs.find(l => l.event === 'subscribe.refused' && l.filter === '#' && l.code === 'BROKER_ERR_TOPIC_OUTSIDE_SCHEME'))
    assert.equal(app.connected, true)
    const device = await client('acme', 'd:sensor:s1', 'd:acme:sensor:s1')
    await device.publishAsync('iot-2/evt/temp/fmt/json', '{"temperature":20}', { qos: 1 })
    assert.equal((await inbox.next()).topic, 'iot-2/type/sensor/id/s1/evt/temp/fmt/json')
  })

  it('never delivers one organisation\'s events to another\'s application', async () => {
    const acmeApp = await client('acme', 'a:watch', 'a:acme:watch')
    const globexApp = await client('globex', 'a:watch', 'a:globex:watch')
    const acmeInbox = collect(acmeApp)
    const globexInbox = collect(globexApp)
    await acmeApp.subscribeAsync('iot-2/#', { qos: 1 })
    await globexApp.subscribeAsync('iot-2/#', { qos: 1 })
    const globexDevice = await client('globex', 'd:sensor:s1', 'd:globex:sensor:s1')
    await globexDevice.publishAsync('iot-2/evt/temp/fmt/json', '{"temperature":21}', { qos: 1 })
    assert.equal((await globexInbox.next()).topic, 'iot-2/type/sensor/id/s1/evt/temp/fmt/json')
    await sleep(200)
    assert.deepEqual(acmeInbox.messages, [])
  })

  it('lets a gateway publish for a device of its organisation', async () => {
    const app = await client('acme', 'a:watch', 'a:acme:watch')
    const inbox = collect(app)
    await app.subscribeAsync('iot-2/type/+/id/+/evt/+/fmt/+', { qos: 1 })
    const gateway = await client('acme', 'g:gw:hall-1', 'g:acme:gw:hall-1')
    await gateway.publishAsync('iot-2/type/sensor/id/behind-gw/evt/temp/fmt/json', '{"temperature":19}', { qos: 1 })
    const message = await inbox.next()
    assert.equal(message.topic, 'iot-2/type/sensor/id/behind-gw/evt/temp/fmt/json')
    assert.equal(gateway.connected, true)
  })

  it('delivers an application\'s command to the device on iot-2/cmd/<cmd>/fmt/<fmt>', async () => {
    const device = await client('acme', 'd:valve:v1', 'd:acme:valve:v1')
    const inbox = collect(device)
    assert.deepEqual((await device.subscribeAsync('iot-2/cmd/+/fmt/+', { qos: 1 })).map(g => g.qos), [1])
    const other = await client('acme', 'd:valve:v2', 'd:acme:valve:v2')
    const otherInbox = collect(other)
    await other.subscribeAsync('iot-2/cmd/+/fmt/+', { qos: 1 })
    const app = await client('acme', 'a:control', 'a:acme:control')
    await app.publishAsync('iot-2/type/valve/id/v1/cmd/open/fmt/json', '{"percent":40}', { qos: 1 })
    const command = await inbox.next()
    assert.equal(command.topic, 'iot-2/cmd/open/fmt/json')
    assert.equal(command.payload, '{"percent":40}')
    await sleep(200)
    assert.deepEqual(otherInbox.messages, [], 'another device does not get the command')
  })

  it('delivers commands to a gateway for the devices behind it, in the canonical form', async () => {
    const gateway = await client('acme', 'g:gw:hall-2', 'g:acme:gw:hall-2')
    const inbox = collect(gateway)
    await gateway.subscribeAsync('iot-2/type/+/id/+/cmd/+/fmt/+', { qos: 1 })
    const app = await client('acme', 'a:control', 'a:acme:control')
    await app.publishAsync('iot-2/type/sensor/id/behind-gw/cmd/calibrate/fmt/json', '{}', { qos: 1 })
    assert.equal((await inbox.next()).topic, 'iot-2/type/sensor/id/behind-gw/cmd/calibrate/fmt/json')
  })

  it('stops delivering after UNSUBSCRIBE', async () => {
    const app = await client('acme', 'a:fickle', 'a:acme:fickle')
    const inbox = collect(app)
    await app.subscribeAsync('iot-2/type/+/id/+/evt/+/fmt/+', { qos: 1 })
    const device = await client('acme', 'd:sensor:s2', 'd:acme:sensor:s2')
    await device.publishAsync('iot-2/evt/temp/fmt/json', 'one', { qos: 1 })
    assert.equal((await inbox.next()).payload, 'one')
    await app.unsubscribeAsync('iot-2/type/+/id/+/evt/+/fmt/+')
    await device.publishAsync('iot-2/evt/temp/fmt/json', 'two', { qos: 1 })
    await sleep(300)
    assert.deepEqual(inbox.messages.map(m => m.payload), ['one'])
  })

  it('hands a retained event to a later subscriber under the canonical topic', async () => {
    const device = await client('acme', 'd:sensor:retainer', 'd:acme:sensor:retainer')
    await device.publishAsync('iot-2/evt/status/fmt/json', '{"online":true}', { qos: 1, retain: true })
    const app = await client('acme', 'a:late', 'a:acme:late')
    const inbox = collect(app)
    await app.subscribeAsync('iot-2/type/sensor/id/retainer/evt/+/fmt/+', { qos: 1 })
    const message = await inbox.next()
    assert.equal(message.topic, 'iot-2/type/sensor/id/retainer/evt/status/fmt/json')
    assert.equal(message.retain, true)
  })
})
