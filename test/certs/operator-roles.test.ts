import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { adminCaFile } from '../../certs/index.js'
import { ADMIN_TOKEN, adminRequest, startTestStack, type HttpAnswer, type TestStack } from '../support/stack.js'
import { secretOf } from '../support/operator-token.js'

/**
 * Issue 14.1: every route of the admin API, as `mqgate start` wires it (the
 * PKI's, the readings' and the metrics'), with every role against an
 * organisation the operator has (acme) and one it has not (demo).
 */

/** What each route needs, written here by hand: the server's own declarations are what is under test. */
const EXPECTED: Readonly<Record<string, 'org' | 'admin' | 'org-list' | 'self' | 'public'>> = {
  'GET /orgs': 'org-list',
  'POST /orgs': 'admin',
  'GET /orgs/:org': 'org',
  'PUT /orgs/:org/ca-key': 'org',
  'GET /orgs/:org/pins': 'org',
  'GET /orgs/:org/limits': 'org',
  'PATCH /orgs/:org/limits': 'org',
  'GET /orgs/:org/renewal': 'org',
  'PUT /orgs/:org/renewal': 'org',
  'GET /orgs/:org/cas': 'org',
  'POST /orgs/:org/cas': 'org',
  'POST /orgs/:org/cas/preview': 'org',
  'GET /orgs/:org/cas/:ca': 'org',
  'POST /orgs/:org/cas/:ca/disable': 'org',
  'POST /orgs/:org/cas/:ca/enable': 'org',
  'DELETE /orgs/:org/cas/:ca': 'org',
  'PUT /orgs/:org/cas/:ca/crl': 'org',
  'PUT /orgs/:org/cas/:ca/crl-policy': 'org',
  'PUT /orgs/:org/cas/:ca/crl-source': 'org',
  'DELETE /orgs/:org/cas/:ca/crl-source': 'org',
  'PUT /orgs/:org/cas/:ca/ocsp': 'org',
  'GET /orgs/:org/server-certs': 'org',
  'POST /orgs/:org/server-certs/csr': 'org',
  'POST /orgs/:org/server-certs/issue': 'org',
  'POST /orgs/:org/server-certs': 'org',
  'POST /orgs/:org/server-certs/:id/activate': 'org',
  'POST /orgs/:org/certs': 'org',
  'GET /orgs/:org/certs': 'org',
  'GET /orgs/:org/certs/:ref': 'org',
  'POST /orgs/:org/certs/:ref/revoke': 'org',
  'POST /orgs/:org/certs/:ref/restore': 'org',
  'GET /orgs/:org/gateways/:gateway/devices': 'org',
  'PUT /orgs/:org/gateways/:gateway/devices': 'org',
  'GET /orgs/:org/sessions': 'org',
  'DELETE /orgs/:org/sessions/:clientId': 'org',
  'GET /orgs/:org/audit': 'org',
  'POST /orgs/:org/claims': 'org',
  'GET /orgs/:org/claims': 'org',
  'DELETE /orgs/:org/claims/:name': 'org',
  'POST /orgs/:org/enroll-tokens': 'org',
  'POST /operators': 'admin',
  'GET /operators': 'admin',
  'DELETE /operators/:name': 'admin',
  'POST /operators/:name/rotate': 'admin',
  'DELETE /operators/:name/password': 'admin',
  'GET /operators/self': 'self',
  'PUT /operators/self/password': 'self',
  'DELETE /operators/self/password': 'self',
  'POST /client/v4/zones/:org/client_certificates': 'org',
  'GET /client/v4/zones/:org/client_certificates': 'org',
  'GET /client/v4/zones/:org/client_certificates/:id': 'org',
  'DELETE /client/v4/zones/:org/client_certificates/:id': 'org',
  'PATCH /client/v4/zones/:org/client_certificates/:id': 'org',
  'GET /readings/dead-letters': 'admin',
  'GET /readings/counters': 'admin',
  'GET /metrics': 'admin',
  'GET /healthz': 'public',
  'GET /readyz': 'public'
}

type Role = 'admin' | 'org-admin' | 'viewer'

/** The code of a refusal in either envelope (mqgate's, Cloudflare's). */
const codeOf = (answer: HttpAnswer): string | undefined => answer.body?.error?.code ?? answer.body?.errors?.[0]?.code

describe('operators and roles (admin API)', function () {
  this.timeout(120_000)
  let stack: TestStack
  let caPem: string
  const tokens: Record<Role, string> = { admin: '', 'org-admin': '', viewer: '' }

  const call = async (token: string, method: string, route: string, body?: unknown): Promise<HttpAnswer> =>
    await adminRequest(stack.adminPort, caPem, token, method, route, body)
  const asAdmin = async (method: string, route: string, body?: unknown): Promise<HttpAnswer> => await call(ADMIN_TOKEN, method, route, body)
  const createOperator = async (name: string, role: Role, orgs: string[]): Promise<string> => {
    const created = await asAdmin('POST', '/operators', { name, role, orgs })
    assert.equal(created.status, 201, created.text)
    return created.body.token
  }

  before(async () => {
    stack = await startTestStack()
    caPem = readFileSync(adminCaFile(stack.dataDir), 'utf8')
    assert.equal((await asAdmin('POST', '/orgs', { id: 'acme' })).status, 201)
    tokens.admin = await createOperator('ops-admin', 'admin', [])
    tokens['org-admin'] = await createOperator('acme-admin', 'org-admin', ['acme'])
    tokens.viewer = await createOperator('acme-viewer', 'viewer', ['acme'])
  })
  after(async () => await stack?.close())

  it('declares every route it serves, and the table below covers each of them', () => {
    const listening = stack.logs.find(l => l.event === 'admin.listening')
    // The console's pages (access 'console') act only through these routes: test/console/ covers them.
    const served = (listening?.routes as string[]).map(r => r.split(' ')).filter(([method, , access]) => method !== 'HEAD' && access !== 'console').map(([method, url]) => `${method} ${url}`)
    assert.deepEqual([...served].sort(), Object.keys(EXPECTED).sort())
  })

  describe('every route, every role, an organisation it has and one it has not', () => {
    for (const [route, need] of Object.entries(EXPECTED)) {
      const [method, pattern] = route.split(' ')
      for (const role of ['admin', 'org-admin', 'viewer'] as const) {
        for (const orgId of pattern.includes(':org') ? ['acme', 'demo'] : ['-']) {
          const expected = expectation(need, role, method, orgId)
          it(`${role} ${route}${orgId === '-' ? '' : ` on ${orgId}`}: ${expected ?? 'allowed'}`, async () => {
            // Other ids name nothing, and a body carries a field no schema allows: an allowed call is refused
            // further in (400, 404), so no route changes anything here; only a 403 is the role's answer.
            const url = pattern.replace(':org', orgId).replace(/:[a-z]+/g, 'no-such-thing')
            const answer = await call(tokens[role], method, url, method === 'GET' || method === 'DELETE' ? undefined : { not_a_field: 1 })
            if (expected === undefined) {
              assert.ok(answer.status !== 403 && answer.status !== 401, `${answer.status} ${answer.text}`)
            } else {
              assert.equal(answer.status, 403, answer.text)
              assert.equal(codeOf(answer), expected)
            }
          })
        }
      }
    }
  })

  it('lists only the organisations an org-admin has', async () => {
    const { body } = await call(tokens['org-admin'], 'GET', '/orgs')
    assert.deepEqual(body.orgs.map((o: any) => o.id), ['acme'])
    const all = await call(tokens.admin, 'GET', '/orgs')
    assert.deepEqual(all.body.orgs.map((o: any) => o.id).sort(), ['acme', 'demo'])
  })

  it('names the operator in the audit line of a change, and in the log of a refusal', async () => {
    const changed = await call(tokens['org-admin'], 'PUT', '/orgs/acme/gateways/gw-1/devices', { allow: ['sensor:*'] })
    assert.equal(changed.status, 200, changed.text)
    const audit = await stack.logs.waitFor(l => l.event === 'audit' && l.action === 'gateway.devices' && l.orgId === 'acme' && l.gateway === 'gw-1')
    assert.match(audit.actor, /^operator:acme-admin@/)
    const refused = await call(tokens['org-admin'], 'PUT', '/orgs/demo/gateways/gw-1/devices', { allow: [] })
    assert.equal(codeOf(refused), 'ADMIN_ERR_FORBIDDEN_ORG')
    const line = stack.logs.find(l => l.event === 'admin.forbidden' && l.url === '/orgs/demo/gateways/gw-1/devices')
    assert.equal(line?.operator, 'acme-admin')
    assert.equal(line?.code, 'ADMIN_ERR_FORBIDDEN_ORG')
  })

  it('refuses a revoked operator at once', async () => {
    const token = await createOperator('short-lived', 'viewer', ['acme'])
    assert.equal((await call(token, 'GET', '/orgs/acme')).status, 200)
    assert.equal((await asAdmin('DELETE', '/operators/short-lived')).status, 200)
    const refused = await call(token, 'GET', '/orgs/acme')
    assert.equal(refused.status, 401)
    assert.equal(codeOf(refused), 'ADMIN_ERR_UNAUTHORIZED')
  })

  it('refuses the old token after a rotation and takes the new one', async () => {
    const old = await createOperator('rotating', 'org-admin', ['acme'])
    const rotated = await asAdmin('POST', '/operators/rotating/rotate')
    assert.equal(rotated.status, 200, rotated.text)
    assert.deepEqual(Object.keys(rotated.body).sort(), ['name', 'orgs', 'role', 'token'])
    assert.equal((await call(old, 'GET', '/orgs/acme')).status, 401)
    assert.equal((await call(rotated.body.token, 'GET', '/orgs/acme')).status, 200)
  })

  it('stores a token only as its hash, and never logs or lists it', async () => {
    const dir = path.join(stack.dataDir, 'admin', 'operators')
    const stored = readdirSync(dir).map(f => readFileSync(path.join(dir, f), 'utf8')).join('\n')
    const listed = (await asAdmin('GET', '/operators')).text
    for (const token of Object.values(tokens)) {
      assert.ok(!stored.includes(token) && !stored.includes(secretOf(token)), 'a token is in the store')
      assert.ok(!stack.logs.text().includes(secretOf(token)), 'a token is in the log')
      assert.ok(!listed.includes(secretOf(token)), 'a token is in the list')
    }
    assert.ok(!listed.includes('token'), listed)
  })

  it('refuses operators it cannot have', async () => {
    const invalid = async (body: unknown, status: number, code: string): Promise<void> => {
      const answer = await asAdmin('POST', '/operators', body)
      assert.equal(answer.status, status, answer.text)
      assert.equal(codeOf(answer), code)
    }
    await invalid({ name: 'no-org', role: 'org-admin', orgs: [] }, 400, 'ADMIN_ERR_OPERATOR_INVALID')
    await invalid({ name: 'admin-with-org', role: 'admin', orgs: ['acme'] }, 400, 'ADMIN_ERR_OPERATOR_INVALID')
    await invalid({ name: 'bad-role', role: 'root', orgs: [] }, 400, 'ADMIN_ERR_OPERATOR_INVALID')
    await invalid({ name: 'ghost', role: 'viewer', orgs: ['nowhere'] }, 404, 'CERTS_ERR_ORG_NOT_FOUND')
    await invalid({ name: 'acme-admin', role: 'viewer', orgs: ['acme'] }, 409, 'ADMIN_ERR_OPERATOR_EXISTS')
  })
})

/** The refusal a role gets on a route, or undefined when it is allowed. */
function expectation (need: string, role: Role, method: string, orgId: string): string | undefined {
  if (need === 'public' || need === 'org-list' || need === 'self' || role === 'admin') return undefined
  if (need === 'admin') return 'ADMIN_ERR_FORBIDDEN_ROLE'
  if (orgId !== 'acme') return 'ADMIN_ERR_FORBIDDEN_ORG'
  return role === 'viewer' && method !== 'GET' ? 'ADMIN_ERR_FORBIDDEN_ROLE' : undefined
}
