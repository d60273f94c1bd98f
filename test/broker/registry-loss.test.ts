import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { connect, endAll } from '../support/mqtt-client.js'
import { startTestRedis, type TestRedis } from '../support/redis-server.js'
import { ADMIN_TOKEN, httpsRequest, startTestStack, within, type HttpAnswer, type TestStack } from '../support/stack.js'

/** The value of an unlabelled sample in Prometheus text, or undefined. */
function sample (text: string, name: string): number | undefined {
  const line = text.split('\n').find(l => l.startsWith(`${name} `))
  return line === undefined ? undefined : Number(line.split(' ')[1])
}

describe('broker: a registry store that comes back empty (Redis)', function () {
  this.timeout(60_000)
  let redis: TestRedis
  let stack: TestStack

  before(async () => {
    redis = await startTestRedis()
    stack = await startTestStack({ REDIS_URL: redis.url })
  })
  after(async () => {
    await stack.close()
    await redis.stop()
  })

  const admin = async (route: string, token: string | null = ADMIN_TOKEN): Promise<HttpAnswer> =>
    await httpsRequest(stack.adminPort, { path: route, caPem: readFileSync(path.join(stack.dataDir, 'admin', 'ca.pem'), 'utf8'), headers: token === null ? {} : { authorization: `Bearer ${token}` } })

  it('keeps serving the organisations it holds, answers not ready on /readyz, logs CERTS_ERR_STORE_EMPTIED once and counts it', async () => {
    assert.equal((await admin('/readyz', null)).status, 200)
    // FLUSHALL is in the AOF: the restart brings Redis back empty, and every connection reconnects (the registry's watcher reloads all).
    const r = redis.connect()
    await r.flushall()
    r.disconnect()
    await redis.restart()
    const notReady = await within(15_000, async () => {
      const answer = await admin('/readyz', null)
      return answer.status === 503 ? answer : undefined
    }).catch(() => undefined)
    assert.ok(notReady !== undefined, '/readyz answers 503 while the store has lost the registry')
    assert.equal(notReady.body.checks.registry, false)
    assert.ok(stack.running.registry.get('demo') !== undefined, 'the organisation is still held in memory')
    const device = await connect({ port: stack.mqttPort, caPem: stack.caPem, cert: stack.issue('d:sensor:after-flush'), clientId: 'd:demo:sensor:after-flush', skipServerNameCheck: true })
    await endAll(device)
    const metrics = (await admin('/metrics')).text
    assert.equal(sample(metrics, 'mqgate_registry_store_emptied_total'), 1)
    assert.equal(sample(metrics, 'mqgate_registry_store_intact'), 0)
    await new Promise(resolve => setTimeout(resolve, 500))
    assert.equal(stack.logs.lines.filter(l => l.code === 'CERTS_ERR_STORE_EMPTIED').length, 1, 'one error line with its code')
  })
})
