import assert from 'node:assert/strict'
import type { MqttClient } from 'mqtt'
import { GatewayMetrics } from '../../metrics/index.js'
import { startTestGateway, type TestGateway } from '../support/gateway.js'
import { collect, connect, endAll, sleep } from '../support/mqtt-client.js'
import { assertAboutRate, publishPaced } from '../support/paced.js'
import { within } from '../support/stack.js'

const ALL_EVENTS = 'iot-2/type/+/id/+/evt/+/fmt/+'

describe('hardening: per-client publish rate', function () {
  this.timeout(60_000)
  let gw: TestGateway
  let metrics: GatewayMetrics

  async function client (orgId: string, commonName: string, clientId: string): Promise<MqttClient> {
    return await connect({ port: gw.port, servername: gw.serverName(orgId), caPem: gw.caOf(orgId), cert: gw.issue(orgId, commonName), clientId })
  }

  async function throttledCount (orgId: string): Promise<number> {
    const metric = await metrics.registry.getSingleMetric('mqgate_publish_throttled_total')?.get()
    return metric?.values.find(v => v.labels.org === orgId)?.value ?? 0
  }

  afterEach(async () => await gw.close())

  it('slows a device far over its message rate to about the rate, without loss or disconnection, while another org\'s device keeps its pace', async () => {
    metrics = new GatewayMetrics()
    gw = await startTestGateway({ orgs: ['acme', 'globex'], limits: { publishRatePerClient: 50 }, observer: metrics })
    const watcher = await client('acme', 'a:watcher', 'a:acme:watcher')
    const seen = collect(watcher)
    await watcher.subscribeAsync(ALL_EVENTS, { qos: 1 })
    const globexApp = await client('globex', 'a:watcher', 'a:globex:watcher')
    const globexSeen: number[] = []
    globexApp.on('message', (_topic, payload) => globexSeen.push(Date.now() - Number(JSON.parse(payload.toString()).sent)))
    await globexApp.subscribeAsync(ALL_EVENTS, { qos: 1 })
    const flooder = await client('acme', 'd:sensor:flood', 'd:acme:sensor:flood')
    let flooderClosed = false
    flooder.on('close', () => { flooderClosed = true })
    const polite = await client('globex', 'd:sensor:polite', 'd:globex:sensor:polite')

    // 250 QoS 1 publishes at once: five times the rate. Unlimited, they all arrive in well under a second.
    const total = 250
    const started = Date.now()
    const acked = Promise.all(Array.from({ length: total }, async (_, n) => await flooder.publishAsync('iot-2/evt/status/fmt/json', JSON.stringify({ n }), { qos: 1 })))
    // Meanwhile globex's device publishes 20 a second, under its own limit.
    await publishPaced(polite)
    const atTwoSeconds = seen.messages.length
    assertAboutRate(atTwoSeconds, started, 50, total)

    await within(2000, async () => globexSeen.length >= 40 ? true : undefined)
    assert.ok(Math.max(...globexSeen) < 500, `globex's device kept its latency (worst ${Math.max(...globexSeen)} ms)`)

    await acked
    await within(5000, async () => seen.messages.length >= total ? true : undefined)
    const numbers = new Set(seen.messages.map(m => JSON.parse(m.payload).n as number))
    assert.equal(numbers.size, total, 'every QoS 1 publish of the flooder was delivered')
    assert.equal(flooderClosed, false, 'the flooder was slowed, not disconnected')
    assert.ok(flooder.connected)
    assert.ok(await throttledCount('acme') > 0, 'mqgate_publish_throttled_total{org="acme"} moved')
    assert.equal(await throttledCount('globex'), 0, 'the polite device of globex was never throttled')
    const lines = gw.logs.lines.filter(l => l.code === 'BROKER_ERR_LIMIT_PUBLISH_RATE')
    assert.equal(lines.length, 1, 'logged once per client per 10 s, not once per pause')
    assert.equal(lines[0].clientId, 'd:acme:sensor:flood')
    await endAll(watcher, globexApp, flooder, polite)
  })

  it('slows a device over its byte rate', async () => {
    metrics = new GatewayMetrics()
    gw = await startTestGateway({ orgs: ['acme'], limits: { publishBytesPerClient: 10_000 }, observer: metrics })
    const watcher = await client('acme', 'a:watcher', 'a:acme:watcher')
    const seen = collect(watcher)
    await watcher.subscribeAsync(ALL_EVENTS, { qos: 1 })
    const flooder = await client('acme', 'd:sensor:big', 'd:acme:sensor:big')
    // 40 publishes of about 1 KiB: 40 KB at 10 KB/s is a 10 KB burst then 3 s.
    const blob = 'x'.repeat(1000)
    const started = Date.now()
    const acked = Promise.all(Array.from({ length: 40 }, async (_, n) => await flooder.publishAsync('iot-2/evt/blob/fmt/json', JSON.stringify({ n, blob }), { qos: 1 })))
    await sleep(1500)
    const elapsed = (Date.now() - started) / 1000
    const expected = (10_000 + 10_000 * elapsed) / 1050
    assert.ok(seen.messages.length >= expected * 0.4 && seen.messages.length <= expected * 1.6, `${seen.messages.length} of 40 arrived after ${elapsed.toFixed(1)} s (about ${Math.round(expected)} at 10 KB/s)`)
    await acked
    await within(5000, async () => seen.messages.length >= 40 ? true : undefined)
    assert.ok(flooder.connected)
    assert.ok(await throttledCount('acme') > 0)
    await endAll(watcher, flooder)
  })
})
