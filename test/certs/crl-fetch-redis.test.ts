import assert from 'node:assert/strict'
import type { MqttClient } from 'mqtt'
import { addCa, managedCaOf, setCrlSource, type OrgRegistry } from '../../certs/index.js'
import { runBroker, type RunningProcess } from '../../cli/processes.js'
import { startCrlServer, type CrlServer } from '../support/crl-server.js'
import { TEST_KEK } from '../support/kek.js'
import { createLogSink, type LogSink } from '../support/log-sink.js'
import { closed, endAll, tryConnect, type ConnectOutcome } from '../support/mqtt-client.js'
import { chainCrl, chainLeaf, chainRoot, type ChainCa, type ChainLeaf } from '../support/openssl-chain.js'
import { startTestRedis, type TestRedis } from '../support/redis-server.js'
import { within } from '../support/stack.js'
import { makeTempDir } from '../support/temp-dir.js'

/**
 * Two broker processes on one Redis registry: one of them (the holder of
 * the store's `crl-fetch` lease) fetches the CA's CRL, the other takes the
 * result from the registry; each closes the live sessions it holds of the
 * devices the new list names.
 */
describe('CRLs fetched from a distribution point, two broker processes on Redis', function () {
  this.timeout(90_000)
  let redis: TestRedis
  let temp: { dir: string, remove: () => Promise<void> }
  let server: CrlServer
  let ca: ChainCa
  let first: ChainLeaf, second: ChainLeaf, keeper: ChainLeaf, late: ChainLeaf
  const sinks: LogSink[] = [createLogSink('debug'), createLogSink('debug')]
  const brokers: RunningProcess[] = []
  const live: MqttClient[] = []
  let caId: string

  before(async () => {
    redis = await startTestRedis()
    temp = await makeTempDir('crl-fetch-redis')
    ca = chainRoot(temp.dir, 'fleet-ca')
    first = chainLeaf(ca, temp.dir, 'first', 'd:sensor:first')
    second = chainLeaf(ca, temp.dir, 'second', 'd:sensor:second')
    keeper = chainLeaf(ca, temp.dir, 'keeper', 'd:sensor:keeper')
    late = chainLeaf(ca, temp.dir, 'late', 'd:sensor:late')
    server = await startCrlServer()
    for (const sink of sinks) {
      brokers.push(await runBroker({ REDIS_URL: redis.url, MQGATE_KEK: TEST_KEK, MQGATE_DATA_DIR: temp.dir, MQGATE_MQTT_PORT: '0', MQGATE_ADMIN_PORT: '0', MQGATE_WS_PORT: '0' }, { logger: sink.logger }))
    }
    await brokers[0].registry.createOrg('acme')
    await within(10_000, async () => brokers[1].registry.get('acme'))
    caId = (await addCa(brokers[0].registry, 'acme', ca.certPem, 'fleet', 'test')).id
  })
  after(async () => {
    await endAll(...live)
    for (const broker of brokers.splice(0)) await broker.close()
    await server?.close()
    await redis?.stop()
    await temp?.remove()
  })

  const crlOn = (registry: OrgRegistry): string | undefined => registry.get('acme')?.cas.find(c => c.id === caId)?.crl?.fingerprint

  async function mqtt (broker: RunningProcess, device: ChainLeaf, deviceId: string): Promise<ConnectOutcome> {
    const result = await tryConnect({ port: broker.ports.mqtt as number, servername: 'acme.messaging.localhost', caPem: managedCaOf(broker.registry.require('acme')).certPem, cert: { certPem: device.certPem, keyPem: device.keyPem }, clientId: `d:acme:sensor:${deviceId}` })
    if (result.outcome === 'connected') live.push(result.client)
    return result
  }

  it('closes the newly listed devices\' sessions on both processes, with only one process fetching', async () => {
    server.serve('/fleet.crl', { file: chainCrl(ca, []) })
    const start = Date.now()
    await setCrlSource(brokers[0].registry, 'acme', caId, { url: server.url('/fleet.crl'), everySeconds: 1 }, 'test')
    await within(10_000, async () => crlOn(brokers[0].registry) !== undefined && crlOn(brokers[1].registry) !== undefined ? true : undefined)
    const onFirst = await mqtt(brokers[0], first, 'first')
    const onSecond = await mqtt(brokers[1], second, 'second')
    const keeperLive = await mqtt(brokers[1], keeper, 'keeper')
    for (const outcome of [onFirst, onSecond, keeperLive]) assert.equal(outcome.outcome, 'connected')

    server.serve('/fleet.crl', { file: chainCrl(ca, [first.serial, second.serial]) })
    assert.ok(await closed((onFirst as { client: MqttClient }).client, 8000), 'the listed device on the first process is closed')
    assert.ok(await closed((onSecond as { client: MqttClient }).client, 8000), 'the listed device on the second process is closed')
    assert.deepEqual(await mqtt(brokers[1], first, 'first'), { outcome: 'connack', returnCode: 5 })
    assert.deepEqual(await mqtt(brokers[0], second, 'second'), { outcome: 'connack', returnCode: 5 })
    assert.ok((keeperLive as { client: MqttClient }).client.connected, 'the device the list does not name keeps its session')

    const fetchesBy = sinks.map(sink => sink.lines.filter(l => (l.event === 'crl.fetch' || l.event === 'crl.fetched') && l.caId === caId).length)
    assert.equal(fetchesBy.filter(n => n > 0).length, 1, `fetches logged per process: ${JSON.stringify(fetchesBy)}`)
    assert.equal(sinks.filter(sink => sink.find(l => l.event === 'crl-fetch.leading') !== undefined).length, 1, 'one process holds the lease')
    assert.equal(sinks.flatMap(sink => sink.lines.filter(l => l.event === 'crl.fetched')).length, 2, 'two lists applied, by one process')
    // One fetch a second at most, not one per process (+1 for the try at start).
    const seconds = (Date.now() - start) / 1000
    assert.ok(server.requests('/fleet.crl') <= Math.ceil(seconds) + 1, `${server.requests('/fleet.crl')} requests in ${seconds} s`)
  })

  it('goes on fetching from the other process once the fetching one is gone', async () => {
    const leader = sinks.findIndex(sink => sink.find(l => l.event === 'crl-fetch.leading') !== undefined)
    const survivor = brokers[1 - leader]
    const lateLive = await mqtt(survivor, late, 'late')
    assert.equal(lateLive.outcome, 'connected')
    const [gone] = brokers.splice(leader, 1)
    await gone.close()
    server.serve('/fleet.crl', { file: chainCrl(ca, [first.serial, second.serial, late.serial]) })
    // The lease (15 s) lapses, the survivor takes it and fetches.
    await sinks[1 - leader].waitFor(l => l.event === 'crl-fetch.leading', 30_000)
    assert.ok(await closed((lateLive as { client: MqttClient }).client, 10_000), 'the device listed after the takeover is closed')
    assert.deepEqual(await mqtt(survivor, late, 'late'), { outcome: 'connack', returnCode: 5 })
  })
})
