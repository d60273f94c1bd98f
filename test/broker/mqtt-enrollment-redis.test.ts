import assert from 'node:assert/strict'
import { X509Certificate, generateKeyPairSync } from 'node:crypto'
import type { MqttClient } from 'mqtt'
import { createCsr } from '../../certs/index.js'
import { createClaim } from '../../certs/enrollment/claims.js'
import { startTestGateway, type TestGateway } from '../support/gateway.js'
import { collect, connect, endAll, type Received } from '../support/mqtt-client.js'
import type { TestCert } from '../support/pki.js'
import { startTestRedis, type TestRedis } from '../support/redis-server.js'

function csrFor (commonName: string): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return createCsr(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), commonName, [])
}

/**
 * Enrollment over MQTT with two broker processes sharing one Redis: a claim's
 * use count holds across them (enroll()'s compare-and-set).
 */
describe('broker: enrollment over MQTT with two broker processes on Redis', function () {
  this.timeout(60_000)
  let redis: TestRedis
  let first: TestGateway
  let second: TestGateway
  let claim: TestCert

  before(async () => {
    redis = await startTestRedis()
    first = await startTestGateway({ orgs: ['acme'], redisUrl: redis.url })
    second = await startTestGateway({ orgs: ['acme'], redisUrl: redis.url })
    const created = await createClaim(first.registry, 'acme', { name: 'batch', types: ['sensor'], maxUses: 1 }, 'test')
    claim = { certPem: created.issued.record.certPem, keyPem: created.issued.keyPem as string }
  })
  after(async () => {
    await first?.close()
    await second?.close()
    await redis?.stop()
  })

  const on = (gw: TestGateway, cert: TestCert, clientId: string): Parameters<typeof connect>[0] =>
    ({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert, clientId })

  async function ask (client: MqttClient, csrPem: string): Promise<Received> {
    const inbox = collect(client)
    client.publish('iot-2/enroll/csr/fmt/pem', csrPem, { qos: 1 })
    return await inbox.next(15_000)
  }

  it('enrolls one device only with a claim of one use, asked on both processes at once', async () => {
    const one = await connect(on(first, claim, 'c:acme:batch:unit-1'))
    const two = await connect(on(second, claim, 'c:acme:batch:unit-2'))
    const answers = await Promise.all([ask(one, csrFor('d:sensor:unit-1')), ask(two, csrFor('d:sensor:unit-2'))])

    const chains = answers.filter(a => a.topic === 'iot-2/enroll/result/fmt/pem')
    const refusals = answers.filter(a => a.topic === 'iot-2/enroll/result/fmt/json').map(a => JSON.parse(a.payload).error.code)
    assert.equal(chains.length, 1, JSON.stringify(answers.map(a => a.payload.slice(0, 160))))
    assert.deepEqual(refusals, ['CERTS_ERR_CLAIM_EXHAUSTED'])
    assert.match(new X509Certificate(chains[0].payload).subject, /^CN=d:sensor:unit-[12]$/)
    assert.equal((await second.registry.store.get('acme', 'claims', 'batch'))?.uses, 1)
    await endAll(one, two)
  })
})
