import assert from 'node:assert/strict'
import mqttPacket from 'mqtt-packet'
import { startTestGateway, type TestGateway } from '../support/gateway.js'
import { connect, endAll } from '../support/mqtt-client.js'
import { startMqgateProcess } from '../support/mqgate-process.js'
import { connectPacket, connectRaw, type RawConnection } from '../support/raw-mqtt.js'

const MiB = 1024 * 1024
const LIMIT = 128 * 1024
/** The largest Remaining Length MQTT can express (four 7-bit groups): "256 MiB". */
const MAX_DECLARABLE = 256 * MiB - 1

/** The fixed header of a PUBLISH (QoS 0) declaring `length` bytes of Remaining Length. */
function publishHeader (length: number): Buffer {
  const bytes = [0x30]
  do {
    let digit = length % 128
    length = Math.floor(length / 128)
    if (length > 0) digit |= 0x80
    bytes.push(digit)
  } while (length > 0)
  return Buffer.from(bytes)
}

describe('hardening: frame and memory limits in front of the MQTT parser', function () {
  this.timeout(60_000)
  let gw: TestGateway

  before(async () => { gw = await startTestGateway({ orgs: ['acme'] }) })
  after(async () => await gw.close())

  async function device (name: string): Promise<RawConnection> {
    const raw = await connectRaw({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert: gw.issue('acme', `d:sensor:${name}`) })
    raw.send(connectPacket(`d:acme:sensor:${name}`))
    assert.equal((await raw.next())?.cmd, 'connack')
    return raw
  }

  async function honestDeviceStillWorks (): Promise<void> {
    const honest = await connect({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert: gw.issue('acme', 'd:sensor:honest'), clientId: 'd:acme:sensor:honest' })
    await honest.publishAsync('iot-2/evt/status/fmt/json', '{}', { qos: 1 })
    await endAll(honest)
  }

  it('closes a client whose PUBLISH declares 256 MiB, from the header alone', async () => {
    const attacker = await device('huge')
    attacker.send(Buffer.concat([publishHeader(MAX_DECLARABLE), Buffer.alloc(1024)]))
    assert.equal(await attacker.closed(), true)
    const line = await gw.logs.waitFor(l => l.code === 'BROKER_ERR_PACKET_TOO_LARGE')
    assert.equal(line.declared, MAX_DECLARABLE)
    await honestDeviceStillWorks()
  })

  it('accepts a packet just under the limit and closes one just over it', async () => {
    const sender = await device('sizes')
    const under = mqttPacket.generate({ cmd: 'publish', topic: 'iot-2/evt/blob/fmt/bin', payload: Buffer.alloc(LIMIT - 200), qos: 1, messageId: 1, retain: false, dup: false })
    assert.ok(under.length <= LIMIT)
    sender.send(under)
    assert.equal((await sender.next())?.cmd, 'puback')
    const over = mqttPacket.generate({ cmd: 'publish', topic: 'iot-2/evt/blob/fmt/bin', payload: Buffer.alloc(LIMIT), qos: 1, messageId: 2, retain: false, dup: false })
    sender.send(over)
    assert.equal(await sender.closed(), true)
  })

  it('closes a client whose Remaining Length runs past four bytes', async () => {
    const attacker = await device('endless-length')
    attacker.send(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))
    assert.equal(await attacker.closed(), true)
    await gw.logs.waitFor(l => l.code === 'BROKER_ERR_PACKET_MALFORMED')
  })

  it('refuses an oversized CONNECT too, before authentication', async () => {
    const raw = await connectRaw({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert: gw.issue('acme', 'd:sensor:big-connect') })
    raw.send(mqttPacket.generate(connectPacket('d:acme:sensor:big-connect', { will: { topic: 'iot-2/evt/last/fmt/bin', payload: Buffer.alloc(LIMIT + 1), qos: 0, retain: false } })))
    assert.equal(await raw.closed(), true)
  })

  it('keeps the broker\'s memory flat when 20 clients each declare 256 MiB and send 4 MiB of it', async () => {
    // A broker process of its own, so that its memory is measured apart from the attackers'.
    const broker = await startMqgateProcess()
    try {
      const cert = broker.bootstrap('d:sensor:demo-001')
      const before = broker.rss()
      // No CONNECT first: aedes would refuse the PUBLISH as a first packet only once it had all of it.
      const attackers = await Promise.all(Array.from({ length: 20 }, async () => await connectRaw({ port: broker.mqttPort, caPem: broker.caPem, cert })))
      await Promise.all(attackers.map(async attacker => {
        attacker.send(publishHeader(MAX_DECLARABLE))
        for (let sent = 0; sent < 4 * MiB && !attacker.socket.destroyed; sent += 256 * 1024) {
          attacker.socket.write(Buffer.alloc(256 * 1024))
          await new Promise(resolve => setImmediate(resolve))
        }
        await attacker.closed(10_000)
      }))
      const grown = (broker.rss() - before) / MiB
      console.log(`      (broker RSS ${(before / MiB).toFixed(0)} MiB, grew ${grown.toFixed(1)} MiB for 20 × 256 MiB declared)`)
      assert.ok(grown < 20, `RSS grew by ${grown.toFixed(1)} MiB`)
      assert.ok(broker.alive())
      const honest = await connect({ port: broker.mqttPort, caPem: broker.caPem, cert: broker.bootstrap('d:sensor:demo-001'), clientId: 'd:demo:sensor:demo-001', skipServerNameCheck: true })
      await honest.publishAsync('iot-2/evt/status/fmt/json', '{}', { qos: 1 })
      await endAll(honest)
    } finally {
      await broker.stop()
    }
  })
})
