import assert from 'node:assert/strict'
import { startTestGateway, type TestGateway } from '../support/gateway.js'
import { consoleRequest, consoleSignIn, sessionCookieOf } from '../support/console-http.js'
import { httpsRequest, type HttpAnswer } from '../support/stack.js'

/**
 * The admin API's log lines give a request's path, never its query string
 * (issue 14, E): a token sent there by mistake (`GET /orgs?token=...`) must
 * not land in `admin.unauthorized`, `admin.forbidden` or `admin.refused`.
 */
describe('admin API log lines leave the query string out', function () {
  this.timeout(30_000)
  let gateway: TestGateway
  let viewerToken: string

  const call = async (path: string, token?: string): Promise<HttpAnswer> => await httpsRequest(gateway.admin.port, {
    path,
    caPem: gateway.admin.caPem,
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` }
  })
  const secret = (n: number): string => `query-secret-${n}-${'q'.repeat(20)}`

  before(async () => {
    gateway = await startTestGateway({ orgs: ['acme'] })
    viewerToken = (await httpsRequest(gateway.admin.port, {
      method: 'POST',
      path: '/operators',
      caPem: gateway.admin.caPem,
      headers: { authorization: `Bearer ${gateway.admin.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'acme-viewer', role: 'viewer', orgs: ['acme'] })
    })).body.token
  })
  after(async () => await gateway?.close())

  it('admin.unauthorized: a request without a token', async () => {
    assert.equal((await call(`/orgs?token=${secret(1)}`)).status, 401)
    const line = await gateway.logs.waitFor(l => l.event === 'admin.unauthorized')
    assert.equal(line.url, '/orgs')
  })

  it('admin.forbidden: a viewer on an admin route', async () => {
    assert.equal((await call(`/operators?token=${secret(2)}`, viewerToken)).status, 403)
    const line = await gateway.logs.waitFor(l => l.event === 'admin.forbidden')
    assert.equal(line.url, '/operators')
  })

  it('admin.refused: a refusal of the route', async () => {
    assert.equal((await call(`/orgs/nowhere?token=${secret(3)}`, gateway.admin.token)).status, 404)
    const line = await gateway.logs.waitFor(l => l.event === 'admin.refused' && l.code === 'CERTS_ERR_ORG_NOT_FOUND')
    assert.equal(line.url, '/orgs/nowhere')
  })

  it('console.csrf-refused: a console change without its CSRF token', async () => {
    const session = sessionCookieOf(await consoleSignIn(gateway.admin.port, gateway.admin.caPem, gateway.admin.token))
    const answer = await consoleRequest(gateway.admin.port, gateway.admin.caPem, 'POST', `/console/orgs/acme/sessions?token=${secret(4)}`,
      { cookie: session, 'content-type': 'application/x-www-form-urlencoded' }, 'clientId=x')
    assert.equal(answer.status, 403)
    const line = await gateway.logs.waitFor(l => l.event === 'console.csrf-refused')
    assert.equal(line.url, '/console/orgs/acme/sessions')
  })

  it('wrote none of the query strings anywhere in the log', () => {
    for (const n of [1, 2, 3, 4]) assert.ok(!gateway.logs.text().includes(secret(n)), `secret ${n} is in the log`)
  })
})
