import assert from 'node:assert/strict'
import type { MqttClient } from 'mqtt'
import { startMqgateProcess, type MqgateProcess } from '../support/mqgate-process.js'
import { collect, connect, endAll } from '../support/mqtt-client.js'
import { connectPacket, connectRaw, type RawConnection } from '../support/raw-mqtt.js'
import { within } from '../support/stack.js'

/**
 * Issue 11, defect 1: 20 authenticated devices flood while one application
 * subscriber falls behind. Once the broker dropped that subscriber, the
 * thousands of publishes queued in mqemitter behind its pending writes had no
 * listener left and were released one inside the other until the stack
 * overflowed, killing the process (aedes callPublished ← mqemitter released →
 * _do → fastparallel). The broker runs in a child process, on embedded
 * defaults, so that a crash is observed rather than taking the test down.
 */

const SERVERNAME = 'demo.messaging.localhost'
const ALL_EVENTS = 'iot-2/type/+/id/+/evt/+/fmt/+'
const DEVICES = 20
const FLOOD_MS = 15_000
/** RSS growth allowed over the whole run; a leak of the flood's queue grows without bound. */
const RSS_GROWTH_BOUND = 300 * 1024 * 1024

async function slowApplication (gw: MqgateProcess, qos: 0 | 1): Promise<{ app: RawConnection, stop: () => void }> {
  const app = await connectRaw({ port: gw.mqttPort, servername: SERVERNAME, caPem: gw.caPem, cert: gw.bootstrap('a:demo-app') })
  app.send(connectPacket('a:demo:demo-app'))
  assert.equal((await app.next())?.cmd, 'connack')
  app.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: ALL_EVENTS, qos }] })
  assert.equal((await app.next())?.cmd, 'suback')
  // Reads for 5 ms every 200 ms: far slower than 20 devices publish.
  const timer = setInterval(() => {
    app.socket.resume()
    setTimeout(() => app.socket.pause(), 5)
  }, 200)
  return { app, stop: () => clearInterval(timer) }
}

/** Publishes as fast as TCP lets each device, until the deadline or the broker is gone. */
async function flood (gw: MqgateProcess, devices: readonly MqttClient[], qos: 0 | 1, ms: number, midway?: () => void): Promise<number> {
  const payload = JSON.stringify({ t: 21.5, unit: 'C', pad: 'x'.repeat(28) })
  const until = Date.now() + ms
  const half = Date.now() + ms / 2
  let sent = 0
  await Promise.all(devices.map(async device => {
    while (Date.now() < until && gw.alive() && device.connected) {
      device.publish('iot-2/evt/status/fmt/json', payload, { qos })
      sent++
      if (midway !== undefined && Date.now() > half) { midway(); midway = undefined }
      if (device.stream.writableLength > 64 * 1024) await drainedOrClosed(device)
      else if (sent % 200 === 0) await new Promise(resolve => setImmediate(resolve))
    }
  }))
  return sent
}

/** A broker that died never drains the socket: wait for either. */
async function drainedOrClosed (device: MqttClient): Promise<void> {
  const stream = device.stream
  await new Promise<void>(resolve => {
    const done = (): void => { stream.off('drain', done); stream.off('close', done); resolve() }
    stream.on('drain', done)
    stream.on('close', done)
  })
}

async function anotherClientIsServed (gw: MqgateProcess, name: string): Promise<void> {
  const listener = await connect({ port: gw.mqttPort, servername: SERVERNAME, caPem: gw.caPem, cert: await gw.issue(`a:${name}-listener`), clientId: `a:demo:${name}-listener` })
  const device = await connect({ port: gw.mqttPort, servername: SERVERNAME, caPem: gw.caPem, cert: await gw.issue(`d:sensor:${name}`), clientId: `d:demo:sensor:${name}` })
  const inbox = collect(listener)
  await listener.subscribeAsync(`iot-2/type/sensor/id/${name}/evt/+/fmt/+`, { qos: 1 })
  await device.publishAsync('iot-2/evt/status/fmt/json', '{"ok":true}', { qos: 1 })
  await within(10_000, async () => inbox.messages.length > 0 ? true : undefined)
  await endAll(listener, device)
}

describe('hardening: an authenticated flood towards a slow subscriber', function () {
  this.timeout(180_000)
  let gw: MqgateProcess
  let devices: MqttClient[] = []
  let peakRss = 0
  let startRss = 0
  let sampler: NodeJS.Timeout | undefined
  /** The slow application's reading timer and socket: ended after each test however it went (a flood that ends early never reaches its midway). */
  let slow: { app: RawConnection, stop: () => void } | undefined

  beforeEach(async () => {
    gw = await startMqgateProcess({ MQGATE_LOG_LEVEL: 'warn' })
    devices = []
    for (let n = 0; n < DEVICES; n++) {
      devices.push(await connect({ port: gw.mqttPort, servername: SERVERNAME, caPem: gw.caPem, cert: await gw.issue(`d:sensor:flood-${n}`), clientId: `d:demo:sensor:flood-${n}` }))
    }
    startRss = gw.rss()
    peakRss = startRss
    sampler = setInterval(() => { if (gw.alive()) peakRss = Math.max(peakRss, gw.rss()) }, 250)
  })

  afterEach(async () => {
    clearInterval(sampler)
    slow?.stop()
    slow?.app.end()
    slow = undefined
    for (const device of devices) device.end(true)
    await gw.stop()
  })

  async function assertSurvived (name: string): Promise<void> {
    // The crash came once the stuck subscriber was dropped (drain timeout, 5 s) and its queue released.
    await new Promise(resolve => setTimeout(resolve, 8000))
    assert.ok(gw.alive(), `the broker exited (${String(gw.child.exitCode ?? gw.child.signalCode)})`)
    assert.ok(peakRss - startRss < RSS_GROWTH_BOUND, `RSS grew by ${Math.round((peakRss - startRss) / 1048576)} MiB`)
    await anotherClientIsServed(gw, name)
  }

  it('survives 20 devices flooding QoS 0 for 15 s while the application falls behind, stops reading and is dropped', async () => {
    slow = await slowApplication(gw, 0)
    const { app, stop } = slow
    // Half-way it stops reading altogether: the broker drops it after its drain timeout (5 s), mid-flood.
    const sent = await flood(gw, devices, 0, FLOOD_MS, stop)
    assert.ok(sent > 100_000, `the flood was a flood (${sent} publishes)`)
    await assertSurvived('after-qos0')
    stop()
    app.end()
  })

  it('survives the same flood at QoS 1 while the application disconnects with a long queue', async () => {
    slow = await slowApplication(gw, 1)
    const { app, stop } = slow
    const sent = await flood(gw, devices, 1, FLOOD_MS, () => { stop(); app.end() })
    assert.ok(sent > 50_000, `the flood was a flood (${sent} publishes)`)
    await assertSurvived('after-qos1')
  })
})
