import assert from 'node:assert/strict'
import { addCa } from '../../certs/index.js'
import { startTestGateway, type TestGateway } from '../support/gateway.js'
import { connect, endAll, tryConnect } from '../support/mqtt-client.js'
import { mintCa, mintClient, type TestCert } from '../support/pki.js'

/**
 * An uploaded intermediate is a trust anchor (EMQX's partial_chain), for
 * clients with SNI and for those without, who land in the default
 * organisation through the server's own TLS context, where Node 20 drops
 * `allowPartialTrustChain`. The refusals stay: a device of a CA the
 * organisation does not hold is still closed at the handshake.
 */
describe('access: an uploaded intermediate anchors devices that send no SNI', function () {
  this.timeout(30_000)
  let gw: TestGateway
  let intermediate: TestCert

  before(async () => {
    gw = await startTestGateway({ orgs: ['acme'], defaultOrg: 'acme' })
    const offlineRoot = mintCa('Offline root')
    intermediate = mintCa('Issuing intermediate', { issuer: offlineRoot })
    await addCa(gw.registry, 'acme', intermediate.certPem, 'the intermediate only', 'test')
  })
  after(async () => await gw.close())

  const spec = (cert: TestCert, clientId: string, servername?: string): Parameters<typeof connect>[0] =>
    ({ port: gw.port, servername, caPem: gw.caOf('acme'), cert, clientId, skipServerNameCheck: true })

  it('connects a device that sends only its leaf, with SNI (OpenSSL stops at the uploaded intermediate)', async () => {
    await endAll(await connect(spec(mintClient(intermediate, 'd:sensor:with-sni'), 'd:acme:sensor:with-sni', gw.serverName('acme'))))
  })

  it('connects the same kind of device without SNI, in the default organisation', async () => {
    await endAll(await connect(spec(mintClient(intermediate, 'd:sensor:no-sni'), 'd:acme:sensor:no-sni')))
    assert.equal(gw.logs.find(l => l.event === 'client.connected' && l.clientId === 'd:acme:sensor:no-sni')?.orgId, 'acme')
  })

  it('still closes a device without SNI whose CA the default organisation does not hold', async () => {
    const stranger = mintCa('Stranger intermediate', { issuer: mintCa('Stranger root') })
    const result = await tryConnect(spec(mintClient(stranger, 'd:sensor:stranger'), 'd:acme:sensor:stranger'))
    assert.equal(result.outcome, 'closed')
    const line = await gw.logs.waitFor(l => l.event === 'tls.refused' && l.verifyError !== undefined)
    assert.equal(line.code, 'BROKER_ERR_CERT_UNTRUSTED')
  })
})
