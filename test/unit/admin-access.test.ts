import assert from 'node:assert/strict'
import { fetchRefusalOf, refusalOf, seesOrg, type AccessRequest } from '../../certs/admin-api/access.js'
import type { Principal } from '../../certs/admin-api/operators/operator.js'

const admin: Principal = { name: 'root', role: 'admin', orgs: [], bootstrap: false }
const orgAdmin: Principal = { name: 'alice', role: 'org-admin', orgs: ['acme'], bootstrap: false }
const viewer: Principal = { name: 'victor', role: 'viewer', orgs: ['acme'], bootstrap: false }

const cases: Array<{ name: string, who: Principal, request: AccessRequest, want: string | undefined }> = [
  { name: 'an admin changes any organisation', who: admin, request: { access: 'org', method: 'POST', orgId: 'demo' }, want: undefined },
  { name: 'an admin creates operators', who: admin, request: { access: 'admin', method: 'POST' }, want: undefined },
  { name: 'an org-admin changes its organisation', who: orgAdmin, request: { access: 'org', method: 'DELETE', orgId: 'acme' }, want: undefined },
  { name: 'an org-admin reads no other organisation', who: orgAdmin, request: { access: 'org', method: 'GET', orgId: 'demo' }, want: 'ADMIN_ERR_FORBIDDEN_ORG' },
  { name: 'an org-admin creates no organisation or operator', who: orgAdmin, request: { access: 'admin', method: 'POST' }, want: 'ADMIN_ERR_FORBIDDEN_ROLE' },
  { name: 'an org-admin reads no global route', who: orgAdmin, request: { access: 'admin', method: 'GET' }, want: 'ADMIN_ERR_FORBIDDEN_ROLE' },
  { name: 'a viewer reads its organisation', who: viewer, request: { access: 'org', method: 'GET', orgId: 'acme' }, want: undefined },
  { name: 'a viewer reads with HEAD', who: viewer, request: { access: 'org', method: 'HEAD', orgId: 'acme' }, want: undefined },
  { name: 'a viewer changes nothing', who: viewer, request: { access: 'org', method: 'PATCH', orgId: 'acme' }, want: 'ADMIN_ERR_FORBIDDEN_ROLE' },
  { name: 'a viewer reads no other organisation', who: viewer, request: { access: 'org', method: 'GET', orgId: 'demo' }, want: 'ADMIN_ERR_FORBIDDEN_ORG' },
  { name: 'an org-scoped route without an organisation is refused', who: orgAdmin, request: { access: 'org', method: 'GET' }, want: 'ADMIN_ERR_FORBIDDEN_ORG' },
  { name: 'anyone lists organisations', who: viewer, request: { access: 'org-list', method: 'GET' }, want: undefined },
  // The handler finds the record by the caller (routes/operator-self.ts): a viewer's change to itself is its own.
  { name: 'a viewer sets its own password', who: viewer, request: { access: 'self', method: 'PUT' }, want: undefined },
  { name: 'anyone reaches a public route', who: viewer, request: { access: 'public', method: 'GET' }, want: undefined },
  // A console page is signed in by its session and decided call by call by the API routes it calls (test/console/).
  { name: 'a console page is decided by the routes it calls', who: viewer, request: { access: 'console', method: 'POST' }, want: undefined }
]

describe('admin API access (refusalOf)', () => {
  for (const c of cases) {
    it(c.name, () => assert.equal(refusalOf(c.who, c.request), c.want))
  }

  it('lets only an admin make the gateway fetch an organisation\'s URLs unless MQGATE_CRL_FETCH_ALLOW bounds them (fetchRefusalOf)', () => {
    assert.equal(fetchRefusalOf(admin, false), undefined)
    assert.equal(fetchRefusalOf(orgAdmin, false), 'ADMIN_ERR_FETCH_NEEDS_ALLOW_LIST')
    assert.equal(fetchRefusalOf(admin, true), undefined)
    assert.equal(fetchRefusalOf(orgAdmin, true), undefined)
  })

  it('shows an operator only its organisations in lists', () => {
    assert.equal(seesOrg(orgAdmin, 'acme'), true)
    assert.equal(seesOrg(orgAdmin, 'demo'), false)
    assert.equal(seesOrg(admin, 'demo'), true)
  })
})
