import assert from 'node:assert/strict'
import type { IPublishPacket } from 'mqtt-packet'
import { BACKENDS, startGatewayOn, type TestGateway } from '../support/gateway.js'
import { connect, endAll } from '../support/mqtt-client.js'
import { connectPacket, connectRaw, type RawConnection } from '../support/raw-mqtt.js'

// Issue 18, item 5: a message queued for an offline persistent session that
// matches several of its filters came back once per filter: on Redis with one
// packet id for all ([MQTT-2.3.1-4]), in memory QoS 1 copies again after
// PUBACK and QoS 2 in an endless loop. [MQTT-3.3.5-1]: one copy, at the
// highest QoS of the matching subscriptions.
const FILTERS = [
  { topic: 'iot-2/type/sensor/id/ovl/evt/temp/fmt/json', qos: 1 as const },
  { topic: 'iot-2/type/sensor/id/+/evt/+/fmt/+', qos: 2 as const },
  { topic: 'iot-2/type/+/id/ovl/evt/temp/fmt/json', qos: 1 as const }
]

/** Answers every QoS flow as a client should and returns the PUBLISHes, until the broker is quiet (or sends far too many). */
async function receiveAll (raw: RawConnection, quietMs = 1500): Promise<IPublishPacket[]> {
  const received: IPublishPacket[] = []
  while (received.length < 20) {
    const packet = await raw.next(quietMs)
    if (packet === undefined) break
    if (packet.cmd === 'publish') {
      received.push(packet)
      if (packet.qos === 1) raw.send({ cmd: 'puback', messageId: packet.messageId })
      if (packet.qos === 2) raw.send({ cmd: 'pubrec', messageId: packet.messageId })
    } else if (packet.cmd === 'pubrel') {
      raw.send({ cmd: 'pubcomp', messageId: packet.messageId })
    }
  }
  return received
}

for (const backend of BACKENDS) {
  describe(`broker: offline queue of a session with overlapping filters (${backend})`, function () {
    this.timeout(60_000)
    let gw: TestGateway

    before(async () => { gw = await startGatewayOn(backend, { orgs: ['acme'] }) })
    after(async () => await gw.close())

    const app = async (name = 'ovl'): Promise<RawConnection> => {
      const raw = await connectRaw({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert: gw.issue('acme', `a:${name}`) })
      raw.send(connectPacket(`a:acme:${name}`, { clean: false }))
      assert.equal((await raw.next())?.cmd, 'connack')
      return raw
    }

    it('delivers each queued message once, at the highest QoS of the matching filters, and never again once acknowledged', async () => {
      const first = await app()
      first.send({ cmd: 'subscribe', messageId: 1, subscriptions: FILTERS })
      const suback = await first.next() as { cmd?: string, granted?: number[] } | undefined
      assert.deepEqual([suback?.cmd, suback?.granted], ['suback', [1, 2, 1]])
      first.end()
      await first.closed()
      await new Promise(resolve => setTimeout(resolve, 300))

      const device = await connect({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert: gw.issue('acme', 'd:sensor:ovl'), clientId: 'd:acme:sensor:ovl' })
      for (const [n, qos] of [[1, 1], [2, 1], [3, 2], [4, 2]] as const) {
        await device.publishAsync('iot-2/evt/temp/fmt/json', `{"n":${n}}`, { qos })
      }
      await endAll(device)

      const again = await app()
      const delivered = await receiveAll(again)
      again.end()
      assert.deepEqual(delivered.map(p => [p.payload.toString(), p.qos]), [['{"n":1}', 1], ['{"n":2}', 1], ['{"n":3}', 2], ['{"n":4}', 2]], 'one copy per message, at the QoS it was published with (the filters grant up to 2)')
      assert.equal(new Set(delivered.map(p => p.messageId)).size, 4, 'distinct messages have distinct packet ids [MQTT-2.3.1-4]')

      await new Promise(resolve => setTimeout(resolve, 300))
      const third = await app()
      assert.deepEqual((await receiveAll(third)).map(p => p.payload.toString()), [], 'nothing comes back after PUBACK and PUBCOMP')
      third.end()
    })

    it('sends a queued QoS 2 message at QoS 1 when no matching filter grants more [MQTT-3.8.4-6]', async () => {
      const first = await app('ovl3')
      first.send({ cmd: 'subscribe', messageId: 1, subscriptions: FILTERS.map(f => ({ ...f, qos: 1 as const })) })
      assert.equal((await first.next())?.cmd, 'suback')
      first.end()
      await first.closed()
      await new Promise(resolve => setTimeout(resolve, 300))
      const device = await connect({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert: gw.issue('acme', 'd:sensor:ovl'), clientId: 'd:acme:sensor:ovl' })
      await device.publishAsync('iot-2/evt/temp/fmt/json', '{"n":8}', { qos: 2 })
      await endAll(device)
      const again = await app('ovl3')
      assert.deepEqual((await receiveAll(again)).map(p => [p.payload.toString(), p.qos]), [['{"n":8}', 1]])
      again.end()
      await new Promise(resolve => setTimeout(resolve, 300))
      const third = await app('ovl3')
      assert.deepEqual((await receiveAll(third)).map(p => p.payload.toString()), [], 'nothing comes back after PUBACK')
      third.end()
    })

    // The one queued copy belongs to the filter that delivers it online: the
    // other filters' deliveries, deduplicated, must neither clear another
    // message nor leave a copy behind (nor may a QoS 0 filter that delivered).
    it('leaves nothing queued behind a message delivered online through overlapping filters', async () => {
      const online = await app('ovl2')
      online.send({ cmd: 'subscribe', messageId: 1, subscriptions: [...FILTERS, { topic: 'iot-2/type/sensor/id/ovl/evt/+/fmt/json', qos: 0 }] })
      assert.equal((await online.next())?.cmd, 'suback')
      const device = await connect({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert: gw.issue('acme', 'd:sensor:ovl'), clientId: 'd:acme:sensor:ovl' })
      for (const [n, qos] of [[5, 1], [6, 2], [7, 1]] as const) {
        await device.publishAsync('iot-2/evt/temp/fmt/json', `{"n":${n}}`, { qos })
      }
      await endAll(device)
      assert.deepEqual((await receiveAll(online)).map(p => p.payload.toString()), ['{"n":5}', '{"n":6}', '{"n":7}'], 'one copy each, online')
      online.end()
      await online.closed()
      await new Promise(resolve => setTimeout(resolve, 300))
      const again = await app('ovl2')
      assert.deepEqual((await receiveAll(again)).map(p => p.payload.toString()), [], 'nothing was left queued')
      again.end()
    })
  })
}
