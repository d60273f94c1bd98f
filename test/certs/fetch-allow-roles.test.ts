import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { adminCaFile } from '../../certs/index.js'
import { mintCa } from '../support/pki.js'
import { ADMIN_TOKEN, adminRequest, startTestStack, type HttpAnswer, type TestStack } from '../support/stack.js'

/**
 * A CRL source and the OCSP check make the gateway fetch URLs an organisation
 * chooses (issue 14, C): without MQGATE_CRL_FETCH_ALLOW the fetcher goes
 * anywhere the gateway reaches (its Redis, a metadata address), so only an
 * admin may ask for it; with the list set, the list bounds the fetches and an
 * org-admin may too. As `mqgate start` wires it: the environment, the
 * configuration, the admin API.
 */
describe('CRL sources and the OCSP check: who may make the gateway fetch', function () {
  this.timeout(60_000)

  interface Gateway { readonly stack: TestStack, readonly orgAdmin: string, readonly caId: string, call: (token: string, method: string, route: string, body?: unknown) => Promise<HttpAnswer> }

  async function gatewayWith (env: Record<string, string>): Promise<Gateway> {
    const stack = await startTestStack(env)
    const caPem = readFileSync(adminCaFile(stack.dataDir), 'utf8')
    const call = async (token: string, method: string, route: string, body?: unknown): Promise<HttpAnswer> =>
      await adminRequest(stack.adminPort, caPem, token, method, route, body)
    assert.equal((await call(ADMIN_TOKEN, 'POST', '/orgs', { id: 'acme' })).status, 201)
    const operator = await call(ADMIN_TOKEN, 'POST', '/operators', { name: 'acme-admin', role: 'org-admin', orgs: ['acme'] })
    const ca = await call(ADMIN_TOKEN, 'POST', '/orgs/acme/cas', { certificate: mintCa('Fleet CA').certPem })
    assert.equal(ca.status, 201, ca.text)
    return { stack, orgAdmin: operator.body.token, caId: ca.body.id, call }
  }

  // Port 1 on loopback: refused at once when a fetch is tried, inside the allow list below.
  const SOURCE = { url: 'http://127.0.0.1:1/fleet.crl' }

  describe('without MQGATE_CRL_FETCH_ALLOW', () => {
    let gw: Gateway
    before(async () => { gw = await gatewayWith({}) })
    after(async () => await gw?.stack.close())

    it('refuses an org-admin\'s CRL source and OCSP check with ADMIN_ERR_FETCH_NEEDS_ALLOW_LIST, changing nothing', async () => {
      const caUrl = `/orgs/acme/cas/${gw.caId}`
      for (const [method, route, body] of [['PUT', `${caUrl}/crl-source`, SOURCE], ['PUT', `${caUrl}/crl-source`, { url: 'http://127.0.0.1:6380/x' }], ['PUT', `${caUrl}/ocsp`, { enabled: true }]] as const) {
        const answer = await gw.call(gw.orgAdmin, method, route, body)
        assert.equal(answer.status, 403, answer.text)
        assert.equal(answer.body.error.code, 'ADMIN_ERR_FETCH_NEEDS_ALLOW_LIST')
        assert.match(answer.body.error.message, /MQGATE_CRL_FETCH_ALLOW/)
      }
      const ca = (await gw.call(gw.orgAdmin, 'GET', caUrl)).body
      assert.equal(ca.crl_source, null)
      assert.equal(ca.ocsp_check, false)
      const line = gw.stack.logs.find(l => l.event === 'admin.forbidden' && l.code === 'ADMIN_ERR_FETCH_NEEDS_ALLOW_LIST')
      assert.equal(line?.operator, 'acme-admin')
    })

    it('lets an org-admin turn the OCSP check off (nothing is fetched)', async () => {
      const answer = await gw.call(gw.orgAdmin, 'PUT', `/orgs/acme/cas/${gw.caId}/ocsp`, { enabled: false })
      assert.equal(answer.status, 200, answer.text)
    })

    it('lets an admin set both', async () => {
      const source = await gw.call(ADMIN_TOKEN, 'PUT', `/orgs/acme/cas/${gw.caId}/crl-source`, SOURCE)
      assert.equal(source.status, 200, source.text)
      const ocsp = await gw.call(ADMIN_TOKEN, 'PUT', `/orgs/acme/cas/${gw.caId}/ocsp`, { enabled: true })
      assert.equal(ocsp.status, 200, ocsp.text)
    })
  })

  describe('with MQGATE_CRL_FETCH_ALLOW', () => {
    let gw: Gateway
    before(async () => { gw = await gatewayWith({ MQGATE_CRL_FETCH_ALLOW: '127.0.0.1' }) })
    after(async () => await gw?.stack.close())

    it('lets an org-admin set a CRL source and turn the OCSP check on: the list bounds them', async () => {
      const source = await gw.call(gw.orgAdmin, 'PUT', `/orgs/acme/cas/${gw.caId}/crl-source`, SOURCE)
      assert.equal(source.status, 200, source.text)
      const ocsp = await gw.call(gw.orgAdmin, 'PUT', `/orgs/acme/cas/${gw.caId}/ocsp`, { enabled: true })
      assert.equal(ocsp.status, 200, ocsp.text)
    })
  })
})
