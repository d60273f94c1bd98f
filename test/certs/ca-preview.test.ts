import assert from 'node:assert/strict'
import { startTestGateway, type TestGateway } from '../support/gateway.js'
import { DAYS, mintCa, mintClient } from '../support/pki.js'
import { httpsRequest, type HttpAnswer } from '../support/stack.js'

/**
 * POST /orgs/:org/cas/preview (the console's preview): what `ca add` would
 * make of a file, every refusal listed, nothing saved; a file with a private
 * key refused outright as by `ca add`.
 */
describe('CA preview (admin API)', function () {
  this.timeout(60_000)
  let gw: TestGateway

  before(async () => { gw = await startTestGateway({ orgs: ['acme'] }) })
  after(async () => await gw?.close())

  const preview = async (certificate: string): Promise<HttpAnswer> => await httpsRequest(gw.admin.port, {
    method: 'POST',
    path: '/orgs/acme/cas/preview',
    caPem: gw.admin.caPem,
    headers: { authorization: `Bearer ${gw.admin.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ certificate })
  })
  const casOfAcme = (): number => gw.registry.require('acme').cas.length

  it('describes an acceptable CA and saves nothing', async () => {
    const before = casOfAcme()
    const answer = await preview(mintCa('Fleet CA').certPem)
    assert.equal(answer.status, 200, answer.text)
    assert.match(answer.body.subject, /CN=Fleet CA/)
    assert.equal(answer.body.is_ca, true)
    assert.equal(answer.body.self_signed, true)
    assert.match(answer.body.key, /^(rsa \d+|ec P-\d+)$/)
    assert.match(answer.body.fingerprint_sha256, /^[0-9a-f]{64}$/)
    assert.equal(answer.body.acceptable, true)
    assert.deepEqual(answer.body.refusals, [])
    assert.equal(casOfAcme(), before)
  })

  it('lists every rule a file breaks, not only the first', async () => {
    const leaf = mintClient(mintCa('Issuer'), 'd:sensor:1', { notAfter: DAYS(-1), notBefore: DAYS(-30) })
    const answer = await preview(leaf.certPem)
    assert.equal(answer.status, 200, answer.text)
    assert.equal(answer.body.acceptable, false)
    const codes = (answer.body.refusals as Array<{ code: string }>).map(r => r.code)
    assert.ok(codes.includes('CERTS_ERR_NOT_A_CA') && codes.includes('CERTS_ERR_CERT_EXPIRED'), codes.join(' '))
  })

  it('refuses a file with a private key with CERTS_ERR_CA_KEY_INCLUDED, echoing nothing of it', async () => {
    const ca = mintCa('Bundled CA')
    const answer = await preview(ca.certPem + ca.keyPem)
    assert.equal(answer.status, 400)
    assert.equal(answer.body.error.code, 'CERTS_ERR_CA_KEY_INCLUDED')
    assert.ok(!answer.text.includes(ca.keyPem.split('\n')[1]))
  })
})
