import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { addCa } from '../../certs/index.js'
import { startTestGateway, type TestGateway } from '../support/gateway.js'
import { connect, endAll, tryConnect } from '../support/mqtt-client.js'
import { CLIENT_EXTENSIONS, openssl, opensslCa, opensslSign, type OpensslCa } from '../support/openssl.js'
import { mintCa, mintClient, type TestCert } from '../support/pki.js'
import { makeTempDir } from '../support/temp-dir.js'

describe('hardening: identity checks the TLS stack does not make', () => {
  let gw: TestGateway
  let ca: TestCert
  let opCa: OpensslCa
  let temp: { dir: string, remove: () => Promise<void> }

  before(async () => {
    gw = await startTestGateway({ orgs: ['acme'] })
    temp = await makeTempDir('identity')
    ca = mintCa('Hostile-input CA')
    opCa = opensslCa(temp.dir, 'op-ca')
    await addCa(gw.registry, 'acme', ca.certPem, '', 'test')
    await addCa(gw.registry, 'acme', opCa.certPem, '', 'test')
  })
  after(async () => {
    await gw.close()
    await temp.remove()
  })

  /** The attack must be refused, and an honest device on the same broker must still connect. */
  async function refusedThenHonest (cert: TestCert, clientId: string, code: string): Promise<void> {
    assert.deepEqual(await tryConnect({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert, clientId }), { outcome: 'connack', returnCode: 5 })
    const line = await gw.logs.waitFor(l => l.event === 'connect.refused' && l.clientId === clientId)
    assert.equal(line.code, code)
    const honest = await connect({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert: mintClient(ca, 'd:sensor:honest'), clientId: 'd:acme:sensor:honest' })
    await endAll(honest)
  }

  it('refuses a leaf with CA:TRUE and no keyUsage, which OpenSSL accepts as a client', async () => {
    await refusedThenHonest(mintClient(ca, 'd:sensor:ca-leaf', { isCA: true, keyUsage: 'none', extKeyUsage: 'none' }), 'd:acme:sensor:ca-leaf', 'BROKER_ERR_CERT_IS_CA')
  })

  it('refuses a repeated CN (Node returns an array)', async () => {
    await refusedThenHonest(mintClient(ca, undefined, { commonNames: ['d:sensor:a', 'd:sensor:b'] }), 'd:acme:sensor:a', 'BROKER_ERR_CN_REPEATED')
  })

  it('refuses a multi-valued RDN (CN=...+O=...)', async () => {
    const key = path.join(temp.dir, 'mv.key')
    const csr = path.join(temp.dir, 'mv.csr')
    openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-multivalue-rdn', '-subj', '/CN=d:sensor:mv+O=attacker'])
    const signed = opensslSign(opCa, csr, 'mv', CLIENT_EXTENSIONS)
    await refusedThenHonest({ certPem: signed.certPem, keyPem: readFileSync(key, 'utf8') }, 'd:acme:sensor:mv', 'BROKER_ERR_CN_MULTI_VALUED_RDN')
  })

  const malformed: Array<[string, string]> = [
    ['a carriage return and line feed', 'd:sensor:a\r\nb'],
    ['a NUL byte', 'd:sensor:a\u0000b'],
    ['non-ASCII letters', 'd:sensor:caf\u00e9'],
    ['a slash in the type', 'd:sen/sor:x'],
    ['a wildcard id', 'd:sensor:+']
  ]
  malformed.forEach(([label, cn], i) => {
    it(`refuses a CN with ${label}, and stays up`, async () => {
      await refusedThenHonest(mintClient(ca, cn), `d:acme:sensor:malformed-${i}`, 'BROKER_ERR_CN_MALFORMED')
    })
  })

  it('refuses a CN with a right-to-left override (UTF8String, made by openssl), and stays up', async () => {
    const key = path.join(temp.dir, 'rtl.key')
    const csr = path.join(temp.dir, 'rtl.csr')
    openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-utf8', '-subj', '/CN=d:sensor:\u202eabc'])
    const signed = opensslSign(opCa, csr, 'rtl', CLIENT_EXTENSIONS)
    await refusedThenHonest({ certPem: signed.certPem, keyPem: readFileSync(key, 'utf8') }, 'd:acme:sensor:rtl', 'BROKER_ERR_CN_MALFORMED')
  })

  it('refuses a certificate without clientAuth in its extended key usage', async () => {
    const result = await tryConnect({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert: mintClient(ca, 'd:sensor:srv', { extKeyUsage: 'serverAuth' }), clientId: 'd:acme:sensor:srv' })
    assert.notEqual(result.outcome, 'connected')
  })
})
