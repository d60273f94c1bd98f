import assert from 'node:assert/strict'
import type { Packet } from 'mqtt-packet'
import { BACKENDS, startGatewayOn, type TestGateway } from '../support/gateway.js'
import { connect, endAll } from '../support/mqtt-client.js'
import { connectPacket, connectRaw, type RawConnection } from '../support/raw-mqtt.js'

// Issue 18, item 6: [MQTT-3.3.1-1] "The DUP flag MUST be set to 1 by the Server
// when it attempts to re-deliver a PUBLISH Packet"; aedes resent a persistent
// session's unacknowledged QoS 1 message with DUP=0 (upstream moscajs/aedes#601).
for (const backend of BACKENDS) {
  describe(`broker: redelivery to a persistent session (${backend})`, function () {
    this.timeout(60_000)
    let gw: TestGateway

    before(async () => { gw = await startGatewayOn(backend, { orgs: ['acme'] }) })
    after(async () => await gw.close())

    const app = async (): Promise<RawConnection> => {
      const raw = await connectRaw({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert: gw.issue('acme', 'a:dup') })
      raw.send(connectPacket('a:acme:dup', { clean: false }))
      assert.equal((await raw.next())?.cmd, 'connack')
      return raw
    }
    const nextPublish = async (raw: RawConnection): Promise<Packet & { dup?: boolean, payload?: Buffer } | undefined> => {
      for (;;) {
        const packet = await raw.next(5000)
        if (packet === undefined || packet.cmd === 'publish') return packet as Packet & { dup?: boolean, payload?: Buffer } | undefined
      }
    }

    it('sets DUP on a PUBLISH it sends again, and not on one it sends for the first time', async () => {
      const first = await app()
      first.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'iot-2/type/sensor/id/+/evt/+/fmt/+', qos: 1 }] })
      assert.equal((await first.next())?.cmd, 'suback')
      const device = await connect({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert: gw.issue('acme', 'd:sensor:dup'), clientId: 'd:acme:sensor:dup' })
      await device.publishAsync('iot-2/evt/temp/fmt/json', '{"n":1}', { qos: 1 })
      const sent = await nextPublish(first)
      assert.equal(sent?.dup, false, 'a first delivery has DUP=0')
      first.end() // no PUBACK
      await first.closed()
      await new Promise(resolve => setTimeout(resolve, 300))
      // Queued while the session is offline: never sent yet, so DUP=0 when it goes out.
      await device.publishAsync('iot-2/evt/temp/fmt/json', '{"n":2}', { qos: 1 })
      await endAll(device)
      const again = await app()
      const resent = await nextPublish(again)
      assert.equal(resent?.payload?.toString(), '{"n":1}')
      assert.equal(resent?.dup, true, 'the unacknowledged PUBLISH comes back with DUP=1 [MQTT-3.3.1-1]')
      const queued = await nextPublish(again)
      assert.equal(queued?.payload?.toString(), '{"n":2}')
      assert.equal(queued?.dup, false, 'a PUBLISH sent for the first time has DUP=0')
      again.end()
    })
  })
}
