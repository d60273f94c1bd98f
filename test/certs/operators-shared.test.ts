import assert from 'node:assert/strict'
import { ensureAdminCredentials, FileOperatorStore, startAdminApi } from '../../certs/index.js'
import { AdminClient } from '../../certs/cli/admin-client.js'
import { startTestGateway, type TestGateway } from '../support/gateway.js'
import { createLogSink } from '../support/log-sink.js'
import { startTestRedis, type TestRedis } from '../support/redis-server.js'
import { makeTempDir } from '../support/temp-dir.js'
import { secretOf } from '../support/operator-token.js'

describe('operators shared by processes on one Redis', function () {
  this.timeout(120_000)
  let redis: TestRedis
  let first: TestGateway
  let second: TestGateway
  const adminOf = (gw: TestGateway, token = gw.admin.token): AdminClient => new AdminClient({ apiUrl: gw.admin.url, token, caPem: gw.admin.caPem })

  before(async () => {
    redis = await startTestRedis()
    first = await startTestGateway({ orgs: ['acme'], redisUrl: redis.url })
    second = await startTestGateway({ orgs: ['acme'], redisUrl: redis.url })
  })
  after(async () => {
    await first?.close()
    await second?.close()
    await redis?.stop()
  })

  it('takes an operator made through one process in the other, and refuses it there at once once revoked', async () => {
    const { token } = await adminOf(first).request('POST', '/operators', { name: 'shared', role: 'viewer', orgs: ['acme'] })
    const orgs = await adminOf(second, token).request('GET', '/orgs')
    assert.deepEqual(orgs.orgs.map((o: any) => o.id), ['acme'])
    await adminOf(first).request('DELETE', '/operators/shared')
    await assert.rejects(adminOf(second, token).request('GET', '/orgs'), { status: 401, code: 'ADMIN_ERR_UNAUTHORIZED' })
  })

  it('keeps only the token\'s hash in Redis', async () => {
    const { token } = await adminOf(first).request('POST', '/operators', { name: 'hashed', role: 'admin', orgs: [] })
    const connection = redis.connect()
    try {
      const fields = await connection.hgetall('mqgate:operators')
      assert.ok(Object.values(fields).some(json => JSON.parse(json).name === 'hashed'))
      assert.ok(!JSON.stringify(fields).includes(secretOf(token)), 'the token is in Redis')
    } finally {
      connection.disconnect()
    }
  })
})

describe('admin API routes without an access declaration', () => {
  it('refuse to start: deny by default', async () => {
    const temp = await makeTempDir('undeclared')
    const gw = await startTestGateway({ dataDir: temp.dir })
    try {
      const credentials = await ensureAdminCredentials(temp.dir, 'token')
      const undeclared = async (app: any): Promise<void> => { app.get('/undeclared', async () => ({})) }
      await assert.rejects(startAdminApi({ port: 0, host: '127.0.0.1', token: 'token', tls: credentials }, {
        registry: gw.registry, log: createLogSink().logger, operators: new FileOperatorStore(temp.dir), extraRoutes: [undeclared]
      }), /GET \/undeclared declares no access/)
    } finally {
      await gw.close()
      await temp.remove()
    }
  })
})
