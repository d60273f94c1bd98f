import assert from 'node:assert/strict'
import net from 'node:net'
import { startTestGateway, type TestGateway } from '../support/gateway.js'
import { collect, connect, endAll } from '../support/mqtt-client.js'
import { connectPacket, connectRaw, type RawConnection } from '../support/raw-mqtt.js'
import { within } from '../support/stack.js'

async function honestDeviceStillWorks (gw: TestGateway, name = 'honest'): Promise<void> {
  const honest = await connect({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert: gw.issue('acme', `d:sensor:${name}`), clientId: `d:acme:sensor:${name}` })
  await honest.publishAsync('iot-2/evt/status/fmt/json', '{}', { qos: 1 })
  await endAll(honest)
}

async function tcpClosedWithin (port: number, ms: number): Promise<number> {
  const started = Date.now()
  const socket = net.connect(port, '127.0.0.1')
  socket.on('error', () => {})
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`still open after ${ms} ms`)) }, ms)
    socket.once('close', () => { clearTimeout(timer); resolve() })
  })
  return Date.now() - started
}

describe('hardening: slow and greedy clients', function () {
  this.timeout(30_000)

  describe('timeouts', () => {
    let gw: TestGateway
    before(async () => {
      gw = await startTestGateway({ orgs: ['acme'], limits: { handshakeTimeoutMs: 300, connectTimeoutMs: 300, keepaliveMaxSeconds: 1, drainTimeoutMs: 500, maxInflightInbound: 5 } })
    })
    after(async () => await gw.close())

    async function device (name: string): Promise<RawConnection> {
      return await connectRaw({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert: gw.issue('acme', `d:sensor:${name}`) })
    }

    it('closes a TCP connection that never starts its TLS handshake (handshake timeout, not Node\'s 120 s)', async () => {
      const took = await tcpClosedWithin(gw.port, 3000)
      assert.ok(took >= 250, `closed after ${took} ms`)
      await gw.logs.waitFor(l => l.code === 'BROKER_ERR_TLS_HANDSHAKE_TIMEOUT')
      await honestDeviceStillWorks(gw)
    })

    it('closes a TLS connection that never sends CONNECT', async () => {
      const silent = await device('silent')
      assert.equal(await silent.closed(3000), true)
      await gw.logs.waitFor(l => l.code === 'BROKER_ERR_CONNECT_TIMEOUT')
    })

    it('holds a disabled or too long keepalive to the maximum: a silent client is dropped after 1.5 of it', async () => {
      const lazy = await device('lazy')
      lazy.send(connectPacket('d:acme:sensor:lazy', { keepalive: 0 }))
      assert.equal((await lazy.next())?.cmd, 'connack')
      const started = Date.now()
      assert.equal(await lazy.closed(5000), true)
      assert.ok(Date.now() - started >= 1000, 'not before a keepalive period')
      await gw.logs.waitFor(l => l.code === 'BROKER_ERR_KEEPALIVE_TIMEOUT')
    })

    it('closes a client that leaves too many QoS 2 publishes awaiting PUBREL', async () => {
      const greedy = await device('greedy')
      greedy.send(connectPacket('d:acme:sensor:greedy'))
      assert.equal((await greedy.next())?.cmd, 'connack')
      for (let id = 1; id <= 7; id++) {
        greedy.send({ cmd: 'publish', topic: 'iot-2/evt/status/fmt/json', payload: Buffer.from('{}'), qos: 2, messageId: id, retain: false, dup: false })
      }
      assert.equal(await greedy.closed(3000), true)
      await gw.logs.waitFor(l => l.code === 'BROKER_ERR_LIMIT_INFLIGHT')
      await honestDeviceStillWorks(gw, 'after-qos2')
    })
  })

  describe('slow subscribers', () => {
    it('disconnects a subscriber that stops reading, while another subscriber keeps receiving', async () => {
      // A broker of its own: the keepalive cap above would drop these clients first.
      const gw = await startTestGateway({ orgs: ['acme'], limits: { drainTimeoutMs: 500 } })
      try {
        const stuck = await connectRaw({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert: gw.issue('acme', 'a:stuck') })
        stuck.send(connectPacket('a:acme:stuck'))
        assert.equal((await stuck.next())?.cmd, 'connack')
        stuck.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'iot-2/type/+/id/+/evt/+/fmt/+', qos: 0 }] })
        assert.equal((await stuck.next())?.cmd, 'suback')
        stuck.socket.pause()
        const healthy = await connect({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert: gw.issue('acme', 'a:healthy'), clientId: 'a:acme:healthy' })
        const inbox = collect(healthy)
        await healthy.subscribeAsync('iot-2/type/+/id/+/evt/+/fmt/+', { qos: 0 })
        const flooder = await connect({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert: gw.issue('acme', 'd:sensor:flooder'), clientId: 'd:acme:sensor:flooder' })
        // Until the kernel's socket buffers on both sides are full and the broker's writes stop draining.
        const chunk = Buffer.alloc(64 * 1024)
        for (let i = 0; i < 2000 && gw.logs.find(l => l.code === 'BROKER_ERR_DRAIN_TIMEOUT') === undefined; i++) {
          flooder.publish('iot-2/evt/blob/fmt/bin', chunk, { qos: 0 })
          await new Promise(resolve => setTimeout(resolve, 2))
        }
        await gw.logs.waitFor(l => l.code === 'BROKER_ERR_DRAIN_TIMEOUT', 10_000)
        await within(10_000, async () => inbox.messages.length >= 100 ? true : undefined).catch(() => undefined)
        assert.ok(inbox.messages.length >= 100, `the healthy subscriber kept receiving (${inbox.messages.length})`)
        assert.equal(gw.logs.lines.filter(l => l.event === 'client.error' && l.clientId === 'a:acme:stuck').length, 1, 'one line for the client, not one per dropped message')
        await endAll(healthy, flooder)
        stuck.end()
      } finally {
        await gw.close()
      }
    })
  })

  describe('connection caps', () => {
    it('refuses connections over the per-address cap before TLS, and admits again once one closes', async () => {
      const gw = await startTestGateway({ orgs: ['acme'], limits: { connectionsPerIp: 3 } })
      try {
        const held = await Promise.all([1, 2, 3].map(async n => await connectRaw({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert: gw.issue('acme', `d:sensor:held-${n}`) })))
        assert.ok((await tcpClosedWithin(gw.port, 2000)) < 500, 'the fourth is closed at once')
        await gw.logs.waitFor(l => l.code === 'BROKER_ERR_LIMIT_CONNECTIONS_PER_IP')
        held[0].end()
        await held[0].closed()
        // The slot is freed when the server sees the close, a moment after the client does.
        await within(5000, async () => await honestDeviceStillWorks(gw).then(() => true, () => undefined))
        for (const h of held) h.end()
      } finally {
        await gw.close()
      }
    })

    it('refuses connections over the total cap', async () => {
      const gw = await startTestGateway({ orgs: ['acme'], limits: { connectionsTotal: 2 } })
      try {
        const held = await Promise.all([1, 2].map(async n => await connectRaw({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert: gw.issue('acme', `d:sensor:t-${n}`) })))
        assert.ok((await tcpClosedWithin(gw.port, 2000)) < 500)
        await gw.logs.waitFor(l => l.code === 'BROKER_ERR_LIMIT_CONNECTIONS_TOTAL')
        for (const h of held) h.end()
      } finally {
        await gw.close()
      }
    })

    it('refuses an address that opens connections faster than its rate, logging the flood once', async () => {
      const gw = await startTestGateway({ orgs: ['acme'], limits: { connectionRatePerIp: 5 } })
      try {
        const sockets = Array.from({ length: 30 }, () => {
          const s = net.connect(gw.port, '127.0.0.1')
          s.on('error', () => {})
          return s
        })
        await gw.logs.waitFor(l => l.code === 'BROKER_ERR_LIMIT_CONNECTION_RATE')
        await new Promise(resolve => setTimeout(resolve, 200))
        assert.equal(gw.logs.lines.filter(l => l.code === 'BROKER_ERR_LIMIT_CONNECTION_RATE').length, 1, 'a flood is one log line')
        for (const s of sockets) s.destroy()
        await new Promise(resolve => setTimeout(resolve, 1100))
        await honestDeviceStillWorks(gw)
      } finally {
        await gw.close()
      }
    })
  })
})
