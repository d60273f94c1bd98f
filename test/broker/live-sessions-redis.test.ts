import assert from 'node:assert/strict'
import type { MqttClient } from 'mqtt'
import { startTestGateway, type TestGateway } from '../support/gateway.js'
import { mqgateCli, showResult } from '../support/mqgate-cli.js'
import { closed, connect, endAll } from '../support/mqtt-client.js'
import { freePort, startTestRedis, type TestRedis } from '../support/redis-server.js'
import { httpsRequest, within, type HttpAnswer } from '../support/stack.js'

/**
 * Two broker processes' worth of gateway (each its own broker, LiveSessions
 * and admin API) on one private redis-server, as `mqgate start --workers 2`
 * runs them: a session held by one is listed and disconnected through the
 * other's admin API.
 */
describe('live sessions across broker processes (Redis)', function () {
  this.timeout(60_000)
  let redis: TestRedis
  let a: TestGateway
  let b: TestGateway
  const clients: MqttClient[] = []

  before(async () => {
    redis = await startTestRedis()
    a = await startTestGateway({ orgs: ['acme'], redisUrl: redis.url, wsPort: await freePort() })
    b = await startTestGateway({ orgs: ['acme'], redisUrl: redis.url })
  })
  after(async () => {
    await endAll(...clients)
    await b?.close()
    await a?.close()
    await redis?.stop()
  })

  const adminOf = async (gw: TestGateway, method: string, route: string): Promise<HttpAnswer> =>
    await httpsRequest(gw.admin.port, { method, path: route, caPem: gw.admin.caPem, headers: { authorization: `Bearer ${gw.admin.token}` } })
  const clientIds = async (gw: TestGateway): Promise<string[]> => (await adminOf(gw, 'GET', '/orgs/acme/sessions')).body.sessions.map((s: any) => s.clientId)
  const connectTo = async (gw: TestGateway, cn: string, clientId: string): Promise<MqttClient> => {
    const client = await connect({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert: gw.issue('acme', cn), clientId })
    clients.push(client)
    return client
  }

  it('lists the sessions of every process through either admin API', async () => {
    await connectTo(a, 'd:sensor:on-a', 'd:acme:sensor:on-a')
    await connectTo(b, 'd:sensor:on-b', 'd:acme:sensor:on-b')
    for (const gw of [a, b]) {
      await within(5000, async () => (await clientIds(gw)).length === 2 ? true : undefined)
      assert.deepEqual((await clientIds(gw)).sort(), ['d:acme:sensor:on-a', 'd:acme:sensor:on-b'])
    }
  })

  it('disconnects a session held by the other process', async () => {
    const onA = clients[0]
    const answer = await adminOf(b, 'DELETE', '/orgs/acme/sessions/d%3Aacme%3Asensor%3Aon-a')
    assert.equal(answer.status, 204, answer.text)
    assert.equal(await closed(onA, 3000), true)
    await within(5000, async () => (await clientIds(b)).length === 1 ? true : undefined)
    assert.deepEqual(await clientIds(a), ['d:acme:sensor:on-b'])
    assert.equal((await adminOf(b, 'DELETE', '/orgs/acme/sessions/d%3Aacme%3Asensor%3Aon-a')).body.error.code, 'ADMIN_ERR_SESSION_NOT_FOUND')
  })

  it('keeps the audit trail in Redis: the disconnect made through one process is listed by the other\'s', async () => {
    const { body } = await adminOf(a, 'GET', '/orgs/acme/audit?action=session.disconnect')
    assert.deepEqual(body.entries.map((e: any) => [e.action, e.clientId]), [['session.disconnect', 'd:acme:sensor:on-a']])
  })

  it('mqgate session list / disconnect and mqgate audit, through the other process\'s admin API', async () => {
    const onA = await connectTo(a, 'd:sensor:cli', 'd:acme:sensor:cli')
    await within(5000, async () => (await clientIds(b)).includes('d:acme:sensor:cli') ? true : undefined)
    const list = await mqgateCli(['session', 'list', 'acme'], b.admin)
    assert.equal(list.status, 0, showResult(list))
    assert.match(list.stdout, /d:sensor:cli\s+d:acme:sensor:cli\s+\S+\s+127\.0\.0\.1\s+tls/)
    const gone = await mqgateCli(['session', 'disconnect', 'acme', 'd:acme:sensor:cli'], b.admin)
    assert.equal(gone.status, 0, showResult(gone))
    assert.equal(await closed(onA, 3000), true)
    const audit = await mqgateCli(['audit', 'acme', '--action', 'session', '--json'], a.admin)
    assert.equal(audit.status, 0, showResult(audit))
    assert.deepEqual(JSON.parse(audit.stdout).entries.map((e: any) => e.clientId), ['d:acme:sensor:cli', 'd:acme:sensor:on-a'])
  })

  it('names the transport: MQTT over a secure WebSocket is wss', async () => {
    const ws = await connect({ port: a.wsPort as number, transport: 'wss', servername: a.serverName('acme'), caPem: a.caOf('acme'), cert: a.issue('acme', 'd:sensor:ws'), clientId: 'd:acme:sensor:ws' })
    clients.push(ws)
    const row = await within(5000, async () => (await adminOf(b, 'GET', '/orgs/acme/sessions')).body.sessions.find((s: any) => s.clientId === 'd:acme:sensor:ws'))
    assert.equal(row.transport, 'wss')
    assert.equal(row.identity, 'd:sensor:ws')
    assert.match(row.remoteAddress, /127\.0\.0\.1/)
  })
})
