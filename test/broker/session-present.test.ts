import assert from 'node:assert/strict'
import type { IConnackPacket } from 'mqtt-packet'
import { BACKENDS, startGatewayOn, type TestGateway } from '../support/gateway.js'
import { connectPacket, connectRaw, type RawConnection } from '../support/raw-mqtt.js'

// Issue 18, item 6: [MQTT-3.2.2-2] with CleanSession 0, Session Present is 1
// when the server holds session state for the clientId. aedes only looked at
// subscriptions: a device with no subscription and a QoS 2 PUBLISH awaiting
// its PUBREL was told 0, and a client that trusts it drops the flow.
for (const backend of BACKENDS) {
  describe(`broker: CONNACK Session Present (${backend})`, function () {
    this.timeout(60_000)
    let gw: TestGateway

    before(async () => { gw = await startGatewayOn(backend, { orgs: ['acme'] }) })
    after(async () => await gw.close())

    const session = async (cn: string, clientId: string): Promise<{ raw: RawConnection, present: boolean }> => {
      const raw = await connectRaw({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert: gw.issue('acme', cn) })
      raw.send(connectPacket(clientId, { clean: false }))
      const connack = await raw.next() as IConnackPacket | undefined
      assert.equal(connack?.cmd, 'connack')
      return { raw, present: connack.sessionPresent }
    }
    const drop = async (raw: RawConnection): Promise<void> => {
      raw.end()
      await raw.closed()
      await new Promise(resolve => setTimeout(resolve, 300))
    }

    it('is 1 when only an incoming QoS 2 PUBLISH awaiting PUBREL was kept, and 0 once it is done', async () => {
      const first = await session('d:sensor:sp', 'd:acme:sensor:sp')
      assert.equal(first.present, false, 'a new session')
      first.raw.send({ cmd: 'publish', topic: 'iot-2/evt/temp/fmt/json', payload: '{"n":1}', qos: 2, messageId: 7, retain: false, dup: false })
      const pubrec = await first.raw.next() as { cmd?: string, messageId?: number } | undefined
      assert.deepEqual([pubrec?.cmd, pubrec?.messageId], ['pubrec', 7])
      await drop(first.raw)

      const again = await session('d:sensor:sp', 'd:acme:sensor:sp')
      assert.equal(again.present, true, 'the QoS 2 flow is session state [MQTT-3.2.2-2]')
      again.raw.send({ cmd: 'pubrel', messageId: 7 })
      assert.equal((await again.raw.next())?.cmd, 'pubcomp')
      await drop(again.raw)

      const done = await session('d:sensor:sp', 'd:acme:sensor:sp')
      assert.equal(done.present, false, 'nothing is left of the session')
      done.raw.end()
    })

    // Memory only: aedes-persistence-redis deletes a session's outgoing queue
    // with its last subscription (removeSubscriptions), so there is no state left.
    const itMemory = backend === 'memory' ? it : it.skip
    itMemory('is 1 when only an outgoing QoS 2 flow (PUBREL awaiting PUBCOMP) was kept', async () => {
      const filter = 'iot-2/type/sensor/id/+/evt/+/fmt/+'
      const first = await session('a:sp', 'a:acme:sp')
      first.raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos: 2 }] })
      assert.equal((await first.raw.next())?.cmd, 'suback')
      const device = await session('d:sensor:sp2', 'd:acme:sensor:sp2')
      device.raw.send({ cmd: 'publish', topic: 'iot-2/evt/temp/fmt/json', payload: '{"n":2}', qos: 2, messageId: 3, retain: false, dup: false })
      assert.equal((await device.raw.next())?.cmd, 'pubrec')
      device.raw.send({ cmd: 'pubrel', messageId: 3 })
      assert.equal((await device.raw.next())?.cmd, 'pubcomp')
      const publish = await first.raw.next()
      assert.deepEqual([publish?.cmd, (publish as { qos?: number } | undefined)?.qos], ['publish', 2])
      first.raw.send({ cmd: 'pubrec', messageId: (publish as { messageId?: number } | undefined)?.messageId })
      assert.equal((await first.raw.next())?.cmd, 'pubrel')
      first.raw.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: [filter] })
      assert.equal((await first.raw.next())?.cmd, 'unsuback')
      await drop(first.raw)
      device.raw.end()

      const again = await session('a:sp', 'a:acme:sp')
      assert.equal(again.present, true, 'the unfinished QoS 2 flow is session state [MQTT-3.2.2-2]')
      again.raw.end()
    })
  })
}
