import assert from 'node:assert/strict'
import type { PublishPacket } from 'aedes'
import { issueClientCert, revokeCert } from '../../certs/index.js'
import { startTestGateway, type TestGateway } from '../support/gateway.js'
import { collect, connect, endAll, sleep, tryConnect } from '../support/mqtt-client.js'
import { startTestRedis, type TestRedis } from '../support/redis-server.js'
import { within } from '../support/stack.js'

const spec = (gw: TestGateway, cert: { certPem: string, keyPem: string }, clientId: string): Parameters<typeof connect>[0] =>
  ({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert, clientId })

describe('hardening: Wills', () => {
  let gw: TestGateway

  before(async () => { gw = await startTestGateway({ orgs: ['acme', 'globex'] }) })
  after(async () => await gw.close())

  it('sends the Will of an accepted client that vanishes (the control case)', async () => {
    const watcher = await connect(spec(gw, gw.issue('acme', 'a:watch-1'), 'a:acme:watch-1'))
    const inbox = collect(watcher)
    await watcher.subscribeAsync('iot-2/#', { qos: 0 })
    const will = { topic: 'iot-2/evt/status/fmt/json', payload: Buffer.from('{"online":false}'), qos: 0 as const, retain: false }
    const device = await connect({ ...spec(gw, gw.issue('acme', 'd:sensor:vanishing'), 'd:acme:sensor:vanishing'), will })
    device.stream.destroy()
    assert.equal((await inbox.next()).topic, 'iot-2/type/sensor/id/vanishing/evt/status/fmt/json')
    await endAll(watcher, device)
  })

  it('never sends the Will of a refused connection', async () => {
    const watcher = await connect(spec(gw, gw.issue('acme', 'a:watch-2'), 'a:acme:watch-2'))
    const inbox = collect(watcher)
    await watcher.subscribeAsync('iot-2/#', { qos: 0 })
    const will = { topic: 'iot-2/evt/status/fmt/json', payload: Buffer.from('{"online":false}'), qos: 0 as const, retain: false }
    const refused = await tryConnect({ ...spec(gw, gw.issue('acme', 'd:sensor:impostor'), 'd:acme:sensor:someone-else'), will })
    assert.deepEqual(refused, { outcome: 'connack', returnCode: 2 })
    await sleep(300)
    assert.deepEqual(inbox.messages, [])
    await endAll(watcher)
  })

  it('refuses at CONNECT a Will on a topic the client may not publish to', async () => {
    const will = { topic: 'iot-2/type/sensor/id/victim/evt/status/fmt/json', payload: Buffer.from('{}'), qos: 0 as const, retain: false }
    assert.deepEqual(await tryConnect({ ...spec(gw, gw.issue('acme', 'd:sensor:w'), 'd:acme:sensor:w'), will }), { outcome: 'connack', returnCode: 5 })
  })

  /** aedes' hook as aedes calls it when it replays a dead broker's Wills: with no client. */
  async function replay (will: Partial<PublishPacket> & Record<string, unknown>): Promise<string | undefined> {
    return await new Promise(resolve => {
      gw.broker.aedes.authorizePublish(null, { cmd: 'publish', qos: 0, dup: false, retain: false, payload: Buffer.from('{}'), ...will } as PublishPacket, (err?: Error | null) => resolve((err as { code?: string } | null | undefined)?.code))
    })
  }

  it('refuses a replayed Will outside the organisation its clientId names, without an owner, or of a revoked owner', async () => {
    const issued = await issueClientCert(gw.registry, 'acme', { commonName: 'd:sensor:later-revoked' }, 'test')
    const topic = '$org/acme/iot-2/type/sensor/id/later-revoked/evt/status/fmt/json'
    assert.equal(await replay({ topic, clientId: 'd:acme:sensor:later-revoked', ownerFingerprint: issued.record.fingerprint }), undefined)
    assert.equal(await replay({ topic, clientId: 'd:globex:sensor:later-revoked', ownerFingerprint: issued.record.fingerprint }), 'BROKER_ERR_WILL_FORBIDDEN')
    assert.equal(await replay({ topic: 'iot-2/evt/status/fmt/json', clientId: 'd:acme:sensor:later-revoked', ownerFingerprint: issued.record.fingerprint }), 'BROKER_ERR_WILL_FORBIDDEN')
    assert.equal(await replay({ topic, clientId: 'd:acme:sensor:later-revoked' }), 'BROKER_ERR_WILL_FORBIDDEN')
    await revokeCert(gw.registry, 'acme', issued.record.id, 'test')
    assert.equal(await replay({ topic, clientId: 'd:acme:sensor:later-revoked', ownerFingerprint: issued.record.fingerprint }), 'BROKER_ERR_CERT_REVOKED')
  })
})

for (const backend of ['memory', 'redis'] as const) {
  describe(`hardening: retained messages of a revoked certificate (${backend})`, () => {
    let redis: TestRedis | undefined
    let gw: TestGateway

    before(async () => {
      redis = backend === 'redis' ? await startTestRedis() : undefined
      gw = await startTestGateway({ orgs: ['acme'], redisUrl: redis?.url })
    })
    after(async () => {
      await gw.close()
      await redis?.stop()
    })

    /** The retained topics a new subscriber gets: waits for `expected` of them, then a while longer for any extra. */
    async function retainedSeenBy (name: string, filter: string, expected: number): Promise<string[]> {
      const app = await connect(spec(gw, gw.issue('acme', `a:${name}`), `a:acme:${name}`))
      const inbox = collect(app)
      await app.subscribeAsync(filter, { qos: 1 })
      await within(5000, async () => inbox.messages.filter(m => m.retain).length >= expected ? true : undefined).catch(() => undefined)
      await sleep(300)
      await endAll(app)
      return inbox.messages.filter(m => m.retain).map(m => m.topic)
    }

    it('stops delivering them to new subscribers once the certificate is revoked, and keeps the others\'', async () => {
      const bad = await issueClientCert(gw.registry, 'acme', { commonName: 'd:sensor:compromised' }, 'test')
      const device = await connect(spec(gw, { certPem: bad.record.certPem, keyPem: bad.keyPem as string }, 'd:acme:sensor:compromised'))
      await device.publishAsync('iot-2/evt/status/fmt/json', '{"firmware":"evil"}', { qos: 1, retain: true })
      await endAll(device)
      const good = await connect(spec(gw, gw.issue('acme', 'd:sensor:fine'), 'd:acme:sensor:fine'))
      await good.publishAsync('iot-2/evt/status/fmt/json', '{"firmware":"ok"}', { qos: 1, retain: true })
      await endAll(good)
      const filter = 'iot-2/type/sensor/id/+/evt/status/fmt/json'
      assert.deepEqual((await retainedSeenBy('before', filter, 2)).sort(), ['iot-2/type/sensor/id/compromised/evt/status/fmt/json', 'iot-2/type/sensor/id/fine/evt/status/fmt/json'])
      await revokeCert(gw.registry, 'acme', bad.record.id, 'test')
      await gw.logs.waitFor(l => l.event === 'retained.purged')
      assert.deepEqual(await retainedSeenBy('after', filter, 1), ['iot-2/type/sensor/id/fine/evt/status/fmt/json'])
    })
  })
}
