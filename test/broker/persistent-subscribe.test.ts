import assert from 'node:assert/strict'
import type { MqttClient } from 'mqtt'
import { BACKENDS, startGatewayOn, type TestGateway } from '../support/gateway.js'
import { collect, connect, endAll, subscribeGranted } from '../support/mqtt-client.js'

// Issue 18, item 4: aedes stored a persistent session's subscriptions once per
// filter, each time with the whole SUBSCRIBE (upstream moscajs/aedes#458): on
// Redis a SUBSCRIBE of several filters got no SUBACK, and everywhere its cost
// grew with the square of the filter count.
for (const backend of BACKENDS) {
  describe(`broker: a persistent session's SUBSCRIBE with several filters (${backend})`, function () {
    this.timeout(60_000)
    let gw: TestGateway
    const clients: MqttClient[] = []

    before(async () => { gw = await startGatewayOn(backend, { orgs: ['acme'], limits: { maxSubscriptionsPerClient: 1000 } }) })
    after(async () => {
      await endAll(...clients)
      await gw.close()
    })

    const app = async (clientId: string, clean: boolean): Promise<MqttClient> => {
      const client = await connect({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert: gw.issue('acme', 'a:dash'), clientId, clean })
      clients.push(client)
      return client
    }
    const within = async <T>(ms: number, what: string, promise: Promise<T>): Promise<T> => await Promise.race([promise, new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error(`${what} not within ${ms} ms`)), ms))])

    it('answers with one SUBACK and keeps every filter of the session', async () => {
      const first = await app('a:acme:dash', false)
      const filters = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`iot-2/type/t${i}/id/+/evt/+/fmt/+`, { qos: 1 as const }]))
      assert.deepEqual(await within(5000, 'SUBACK', subscribeGranted(first, filters)), [1, 1, 1, 1, 1])
      await endAll(first)
      clients.splice(0)
      const again = await app('a:acme:dash', false)
      const inbox = collect(again)
      const device = await connect({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert: gw.issue('acme', 'd:t4:x'), clientId: 'd:acme:t4:x' })
      clients.push(device)
      await device.publishAsync('iot-2/evt/temp/fmt/json', '{"temperature":1}', { qos: 1 })
      assert.equal((await inbox.next(5000)).topic, 'iot-2/type/t4/id/x/evt/temp/fmt/json', 'the last filter was kept with the session')
    })

    it('stores a SUBSCRIBE of 1,000 filters in about a second, not minutes', async () => {
      const client = await app('a:acme:dash:2', false)
      const filters = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`iot-2/type/many${i}/id/+/evt/+/fmt/+`, { qos: 0 as const }]))
      const started = Date.now()
      assert.equal((await within(20_000, 'SUBACK', subscribeGranted(client, filters))).filter(g => g === 0).length, 1000)
      const elapsed = Date.now() - started
      assert.ok(elapsed < 5000, `took ${elapsed} ms`)
    })

    it('refuses the filters past MQGATE_MAX_SUBSCRIPTIONS_PER_CLIENT (0x80, as EMQX max_subscriptions), grants the rest', async () => {
      const client = await app('a:acme:dash:3', false)
      const first = Object.fromEntries(Array.from({ length: 990 }, (_, i) => [`iot-2/type/cap${i}/id/+/evt/+/fmt/+`, { qos: 0 as const }]))
      assert.equal((await subscribeGranted(client, first)).filter(g => g === 0).length, 990)
      // 5 already held (no new place) and 20 new: 10 fit, 10 are refused.
      const second = Object.fromEntries([
        ...Array.from({ length: 5 }, (_, i) => [`iot-2/type/cap${i}/id/+/evt/+/fmt/+`, { qos: 0 as const }]),
        ...Array.from({ length: 20 }, (_, i) => [`iot-2/type/more${i}/id/+/evt/+/fmt/+`, { qos: 0 as const }])
      ])
      assert.deepEqual(await subscribeGranted(client, second), [...Array(15).fill(0), ...Array(10).fill(128)])
      await gw.logs.waitFor(l => l.code === 'BROKER_ERR_LIMIT_SUBSCRIPTIONS')
    })
  })
}
