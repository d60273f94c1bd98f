import assert from 'node:assert/strict'
import type { MqttClient } from 'mqtt'
import { startCrlServer, type CrlServer } from '../support/crl-server.js'
import { TEST_KEK } from '../support/kek.js'
import { cliJson } from '../support/mqgate-cli.js'
import { startMqgateProcess, type MqgateProcess } from '../support/mqgate-process.js'
import { closed, endAll, tryConnect, type ConnectOutcome } from '../support/mqtt-client.js'
import { chainCrl, chainLeaf, chainRoot, type ChainCa, type ChainLeaf } from '../support/openssl-chain.js'
import { redisServerAvailable, startTestRedis, type TestRedis } from '../support/redis-server.js'
import { within } from '../support/stack.js'
import { makeTempDir } from '../support/temp-dir.js'

/**
 * Two mqgate processes on one Redis: one of them (the holder of the store's
 * `crl-fetch` lease) fetches the CA's CRL, the other takes the result from
 * the registry; each closes the live sessions it holds of the devices the new
 * list names. When the fetching process goes, the other takes over.
 */
describe('CRLs fetched from a distribution point, two mqgate processes on Redis', function () {
  this.timeout(120_000)
  let redis: TestRedis
  let temp: { dir: string, remove: () => Promise<void> }
  let server: CrlServer
  let ca: ChainCa
  let first: ChainLeaf, second: ChainLeaf, keeper: ChainLeaf, late: ChainLeaf
  const processes: MqgateProcess[] = []
  const live: MqttClient[] = []
  let caId: string

  before(async function () {
    if (!redisServerAvailable()) this.skip()
    redis = await startTestRedis()
    temp = await makeTempDir('crl-fetch-redis')
    ca = chainRoot(temp.dir, 'fleet-ca')
    first = chainLeaf(ca, temp.dir, 'first', 'd:sensor:first')
    second = chainLeaf(ca, temp.dir, 'second', 'd:sensor:second')
    keeper = chainLeaf(ca, temp.dir, 'keeper', 'd:sensor:keeper')
    late = chainLeaf(ca, temp.dir, 'late', 'd:sensor:late')
    server = await startCrlServer()
    // One after the other: the first start makes the demo organisation and the admin credentials the second one finds.
    for (let i = 0; i < 2; i++) {
      processes.push(await startMqgateProcess({ REDIS_URL: redis.url, MQGATE_KEK: TEST_KEK, MQGATE_LOG_LEVEL: 'info' }, { dataDir: temp.dir, args: ['--workers', '1'] }))
    }
    caId = (await cliJson(processes[0].cli, ['ca', 'add', 'demo', ca.certFile])).id
  })
  after(async () => {
    await endAll(...live)
    for (const p of processes.splice(0)) await p.stop()
    await server?.close()
    await redis?.stop()
    await temp?.remove()
  })

  /** The JSON log lines of one process (its worker's, which runs the broker) with that event. */
  const events = (p: MqgateProcess, event: string): Array<Record<string, any>> =>
    p.output().split('\n').filter(l => l.includes(`"event":"${event}"`)).map(l => JSON.parse(l))

  async function mqtt (p: MqgateProcess, device: ChainLeaf, deviceId: string): Promise<ConnectOutcome> {
    const result = await tryConnect({ port: p.mqttPort, caPem: p.caPem, cert: { certPem: device.certPem, keyPem: device.keyPem }, clientId: `d:demo:sensor:${deviceId}`, skipServerNameCheck: true })
    if (result.outcome === 'connected') live.push(result.client)
    return result
  }

  it('closes the newly listed devices\' sessions on both processes, with only one process fetching', async () => {
    server.serve('/fleet.crl', { file: chainCrl(ca, []) })
    const start = Date.now()
    await cliJson(processes[0].cli, ['ca', 'crl-source', 'demo', caId, '--url', server.url('/fleet.crl'), '--every', '1s'])
    await within(15_000, async () => events(processes[0], 'crl.fetched').length + events(processes[1], 'crl.fetched').length >= 1 ? true : undefined)
    const onFirst = await mqtt(processes[0], first, 'first')
    const onSecond = await mqtt(processes[1], second, 'second')
    const keeperLive = await mqtt(processes[1], keeper, 'keeper')
    for (const outcome of [onFirst, onSecond, keeperLive]) assert.equal(outcome.outcome, 'connected', outcome.outcome === 'connected' ? '' : JSON.stringify(outcome))

    server.serve('/fleet.crl', { file: chainCrl(ca, [first.serial, second.serial]) })
    assert.ok(await closed((onFirst as { client: MqttClient }).client, 8000), 'the listed device on the first process is closed')
    assert.ok(await closed((onSecond as { client: MqttClient }).client, 8000), 'the listed device on the second process is closed')
    assert.deepEqual(await mqtt(processes[1], first, 'first'), { outcome: 'connack', returnCode: 5 })
    assert.deepEqual(await mqtt(processes[0], second, 'second'), { outcome: 'connack', returnCode: 5 })
    assert.ok((keeperLive as { client: MqttClient }).client.connected, 'the device the list does not name keeps its session')

    const appliedBy = processes.map(p => events(p, 'crl.fetched').length)
    assert.deepEqual([...appliedBy].sort(), [0, 2], `lists applied per process: ${JSON.stringify(appliedBy)}`)
    assert.deepEqual(processes.map(p => events(p, 'crl-fetch.leading').length > 0), appliedBy.map(n => n > 0), 'the process that fetches is the one holding the lease')
    // One fetch a second at most, not one per process (+1 for the try at start).
    const seconds = (Date.now() - start) / 1000
    assert.ok(server.requests('/fleet.crl') <= Math.ceil(seconds) + 1, `${server.requests('/fleet.crl')} requests in ${seconds} s`)
  })

  it('goes on fetching from the other process once the fetching one is gone', async () => {
    const leader = processes.findIndex(p => events(p, 'crl-fetch.leading').length > 0)
    const survivor = processes[1 - leader]
    const lateLive = await mqtt(survivor, late, 'late')
    assert.equal(lateLive.outcome, 'connected')
    const [gone] = processes.splice(leader, 1)
    await gone.stop()
    server.serve('/fleet.crl', { file: chainCrl(ca, [first.serial, second.serial, late.serial]) })
    // The lease (15 s) lapses, the survivor takes it and fetches.
    await within(30_000, async () => events(survivor, 'crl-fetch.leading').length > 0 ? true : undefined)
    assert.ok(await closed((lateLive as { client: MqttClient }).client, 10_000), 'the device listed after the takeover is closed')
    assert.deepEqual(await mqtt(survivor, late, 'late'), { outcome: 'connack', returnCode: 5 })
  })
})
