import assert from 'node:assert/strict'
import { startTestGateway, type TestGateway } from '../support/gateway.js'
import { connect, endAll } from '../support/mqtt-client.js'
import { connectPacket, connectRaw, type RawConnection } from '../support/raw-mqtt.js'

/** A PUBLISH (QoS 1) whose topic is given as raw bytes, which mqtt-packet would not let us write. */
function publishWithTopicBytes (topic: Buffer, messageId = 1): Buffer {
  const payload = Buffer.from('{}')
  const body = Buffer.concat([Buffer.from([topic.length >> 8, topic.length & 0xff]), topic, Buffer.from([messageId >> 8, messageId & 0xff]), payload])
  return Buffer.concat([Buffer.from([0x32, body.length]), body])
}

describe('hardening: hostile protocol input closes the offender, nobody else', function () {
  this.timeout(30_000)
  let gw: TestGateway

  before(async () => { gw = await startTestGateway({ orgs: ['acme'] }) })
  after(async () => await gw.close())

  async function raw (name: string): Promise<RawConnection> {
    return await connectRaw({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert: gw.issue('acme', `d:sensor:${name}`) })
  }

  async function connected (name: string): Promise<RawConnection> {
    const conn = await raw(name)
    conn.send(connectPacket(`d:acme:sensor:${name}`))
    assert.equal((await conn.next())?.cmd, 'connack')
    return conn
  }

  async function bystanderUnaffected (): Promise<void> {
    const honest = await connect({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert: gw.issue('acme', 'd:sensor:bystander'), clientId: 'd:acme:sensor:bystander' })
    await honest.publishAsync('iot-2/evt/status/fmt/json', '{}', { qos: 1 })
    await endAll(honest)
  }

  const attacks: Array<{ name: string, run: () => Promise<RawConnection> }> = [
    { name: 'a first packet that is not CONNECT', run: async () => { const c = await raw('no-connect'); c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'iot-2/cmd/+/fmt/+', qos: 0 }] }); return c } },
    { name: 'a second CONNECT', run: async () => { const c = await connected('twice'); c.send(connectPacket('d:acme:sensor:twice')); return c } },
    { name: 'garbage bytes', run: async () => { const c = await connected('garbage'); c.send(Buffer.from('GET / HTTP/1.1\r\n\r\n')); return c } },
    { name: 'a reserved packet type', run: async () => { const c = await connected('reserved'); c.send(Buffer.from([0xf0, 0x00])); return c } },
    { name: 'invalid UTF-8 in a topic', run: async () => { const c = await connected('utf8'); c.send(publishWithTopicBytes(Buffer.from([0x69, 0x6f, 0x74, 0xff, 0xfe]))); return c } },
    { name: 'a NUL in a topic', run: async () => { const c = await connected('nul'); c.send(publishWithTopicBytes(Buffer.from('iot-2/evt/te\u0000mp/fmt/json'))); return c } },
    { name: 'an empty topic', run: async () => { const c = await connected('empty'); c.send(publishWithTopicBytes(Buffer.alloc(0))); return c } },
    { name: 'a topic of more than 100 levels', run: async () => { const c = await connected('deep'); c.send({ cmd: 'publish', topic: 'a/'.repeat(150) + 'b', payload: Buffer.from('x'), qos: 0, retain: false, dup: false }); return c } },
    { name: 'a filter of more than 100 levels', run: async () => { const c = await connected('deep-filter'); c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '+/'.repeat(150) + '#', qos: 0 }] }); return c } },
    { name: '__proto__ as a topic', run: async () => { const c = await connected('proto-topic'); c.send({ cmd: 'publish', topic: '__proto__', payload: Buffer.from('x'), qos: 1, messageId: 1, retain: false, dup: false }); return c } },
    { name: 'stray acknowledgements, then constructor as a topic', run: async () => { const c = await connected('stray-ack'); c.send({ cmd: 'pubrel', messageId: 999 }); c.send(Buffer.from([0x40, 0x02, 0x03, 0xe7])); c.send({ cmd: 'publish', topic: 'constructor', payload: Buffer.from('x'), qos: 0, retain: false, dup: false }); return c } }
  ]

  for (const attack of attacks) {
    it(`closes the connection of a client sending ${attack.name}; others carry on`, async () => {
      const attacker = await attack.run()
      assert.equal(await attacker.closed(), true)
      await bystanderUnaffected()
    })
  }

  for (const clientId of ['__proto__', 'constructor', 'hasOwnProperty']) {
    it(`refuses ${clientId} as a clientId with CONNACK 2`, async () => {
      const conn = await raw(`cid-${clientId.replace(/_/g, '')}`)
      conn.send(connectPacket(clientId))
      const answer = await conn.next() as { cmd: string, returnCode?: number } | undefined
      assert.deepEqual([answer?.cmd, answer?.returnCode], ['connack', 2])
      await bystanderUnaffected()
    })
  }

  it('negates __proto__ and constructor as subscription filters, keeping the connection', async () => {
    const conn = await connected('proto-filter')
    conn.send({ cmd: 'subscribe', messageId: 7, subscriptions: [{ topic: '__proto__', qos: 0 }, { topic: 'constructor/#', qos: 1 }] })
    const answer = await conn.next() as { cmd: string, granted?: number[] } | undefined
    assert.deepEqual([answer?.cmd, answer?.granted], ['suback', [128, 128]])
    conn.send({ cmd: 'pingreq' })
    assert.equal((await conn.next())?.cmd, 'pingresp')
    conn.end()
  })

  it('is still up after all of it', async () => {
    assert.equal(gw.broker.aedes.closed, false)
    await bystanderUnaffected()
  })
})
