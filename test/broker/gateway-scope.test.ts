import assert from 'node:assert/strict'
import { startTestGateway, type TestGateway } from '../support/gateway.js'
import { mqgateCli, showResult } from '../support/mqgate-cli.js'
import { collect, connect, endAll, sleep } from '../support/mqtt-client.js'

describe('broker: a gateway scope narrowed while the gateway is connected', function () {
  this.timeout(60_000)
  let gw: TestGateway

  before(async () => { gw = await startTestGateway({ orgs: ['scoped'] }) })
  after(async () => await gw.close())

  const cli = async (args: string[]): Promise<void> => {
    const result = await mqgateCli(args, gw.admin)
    assert.equal(result.status, 0, showResult(result))
  }
  const client = async (cn: string, clientId: string): ReturnType<typeof connect> =>
    await connect({ port: gw.port, servername: gw.serverName('scoped'), caPem: gw.caOf('scoped'), cert: gw.issue('scoped', cn), clientId })

  it('stops delivering commands for a device the gateway no longer represents, at once, and keeps delivering those still in scope', async () => {
    await cli(['gateway', 'devices', 'scoped', 'gw:hall', '--allow', 'sensor:a1', '--allow', 'sensor:b2'])
    const gateway = await client('g:gw:hall', 'g:scoped:gw:hall')
    const app = await client('a:ctl', 'a:scoped:ctl')
    const inbox = collect(gateway)
    const granted = await gateway.subscribeAsync({ 'iot-2/type/sensor/id/a1/cmd/+/fmt/+': { qos: 1 }, 'iot-2/type/sensor/id/b2/cmd/+/fmt/+': { qos: 1 } })
    assert.deepEqual(granted.map(g => g.qos), [1, 1])
    await app.publishAsync('iot-2/type/sensor/id/a1/cmd/reboot/fmt/json', '{"n":1}', { qos: 1 })
    assert.equal((await inbox.next()).topic, 'iot-2/type/sensor/id/a1/cmd/reboot/fmt/json', 'in scope: delivered')

    await cli(['gateway', 'devices', 'scoped', 'gw:hall', '--allow', 'sensor:b2'])
    await app.publishAsync('iot-2/type/sensor/id/a1/cmd/reboot/fmt/json', '{"n":2}', { qos: 1 })
    await app.publishAsync('iot-2/type/sensor/id/b2/cmd/reboot/fmt/json', '{"n":3}', { qos: 1 })
    assert.equal((await inbox.next()).topic, 'iot-2/type/sensor/id/b2/cmd/reboot/fmt/json', 'still in scope: delivered')
    await sleep(500)
    assert.deepEqual(inbox.messages.map(m => m.payload), ['{"n":1}', '{"n":3}'], 'the command for a1, out of scope now, is not delivered')
    assert.equal(gateway.connected, true)
    await endAll(gateway, app)
  })
})
