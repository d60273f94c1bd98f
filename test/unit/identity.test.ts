import assert from 'node:assert/strict'
import { claimNameFromCertificate, clientIdBelongsTo, identityFromCertificate, parseIdentity, type Identity } from '../../access/index.js'
import { inspectCertificate } from '../../certs/index.js'
import { mintCa, mintClient } from '../support/pki.js'

describe('identity: parsing a CN', () => {
  const accepted: Array<[string, Identity]> = [
    ['d:sensor:demo-001', { kind: 'device', typeId: 'sensor', id: 'demo-001', commonName: 'd:sensor:demo-001' }],
    ['g:gw:demo-gw', { kind: 'gateway', typeId: 'gw', id: 'demo-gw', commonName: 'g:gw:demo-gw' }],
    ['a:demo-app', { kind: 'application', appId: 'demo-app', commonName: 'a:demo-app' }],
    ['d:A.b_c-9:' + 'x'.repeat(64), { kind: 'device', typeId: 'A.b_c-9', id: 'x'.repeat(64), commonName: 'd:A.b_c-9:' + 'x'.repeat(64) }]
  ]
  for (const [cn, want] of accepted) {
    it(`accepts ${cn.slice(0, 40)}`, () => assert.deepEqual(parseIdentity(cn), { ok: true, value: want }))
  }

  const refused = ['', 'd', 'd:sensor', 'd:sensor:1:2', 'a:app:1', 'x:sensor:1', 'D:sensor:1', 'd:sensor:a/b', 'd:sensor:a+b',
    'd:sensor:a#b', 'd:sensor:a b', 'd:sensor:a\u0000b', 'd:sensor:a\r\nb', 'd:sensor:\u00e9', 'd::1', 'd:sensor:' + 'x'.repeat(65), 'a:']
  for (const cn of refused) {
    it(`refuses ${JSON.stringify(cn).slice(0, 40)}`, () => {
      const result = parseIdentity(cn)
      assert.equal(result.ok, false)
      assert.equal(!result.ok && result.code, 'BROKER_ERR_CN_MALFORMED')
    })
  }

  // A claim certificate's CN is no identity: it may only enroll (design.md, "Identity").
  it('refuses a claim CN c:<name> with its own code', () => assert.deepEqual(parseIdentity('c:factory-1'), { ok: false, code: 'BROKER_ERR_CLAIM_ONLY_ENROLLS', reason: 'a claim certificate (c:<name>) may only enroll a device over EST' }))
  for (const cn of ['c:', 'c:a:b', 'c:a/b', 'C:factory']) {
    it(`refuses ${cn} as malformed, not as a claim`, () => assert.equal((parseIdentity(cn) as { code: string }).code, 'BROKER_ERR_CN_MALFORMED'))
  }
})

describe('identity: the claim a certificate is for', () => {
  const ca = mintCa('Claim CA')
  const claimOf = (cert: { certPem: string }): string => {
    const result = claimNameFromCertificate(inspectCertificate(cert.certPem))
    return result.ok ? result.value : result.code
  }

  it('reads c:<name>', () => assert.equal(claimOf(mintClient(ca, 'c:factory-1')), 'factory-1'))
  it('refuses a device certificate', () => assert.equal(claimOf(mintClient(ca, 'd:sensor:1')), 'BROKER_ERR_NOT_A_CLAIM'))
  it('refuses a repeated claim CN', () => assert.equal(claimOf(mintClient(ca, undefined, { commonNames: ['c:a', 'c:a'] })), 'BROKER_ERR_CN_REPEATED'))
})

describe('identity: from a certificate', () => {
  const ca = mintCa('Unit CA')
  const identityOf = (cert: { certPem: string }): string => {
    const result = identityFromCertificate(inspectCertificate(cert.certPem))
    return result.ok ? result.value.commonName : result.code
  }

  it('takes the single CN', () => assert.equal(identityOf(mintClient(ca, 'd:sensor:1')), 'd:sensor:1'))
  it('prefers the CN over SAN emails', () => assert.equal(identityOf(mintClient(ca, 'd:sensor:1', { sanEmails: ['d:sensor:2'] })), 'd:sensor:1'))
  it('takes a SAN email when there is no CN', () => assert.equal(identityOf(mintClient(ca, undefined, { sanEmails: ['g:gw:7'] })), 'g:gw:7'))
  it('refuses several SAN emails and no CN', () => assert.equal(identityOf(mintClient(ca, undefined, { sanEmails: ['d:s:1', 'd:s:2'] })), 'BROKER_ERR_CN_REPEATED'))
  it('refuses a repeated CN', () => assert.equal(identityOf(mintClient(ca, undefined, { commonNames: ['d:s:1', 'd:s:1'] })), 'BROKER_ERR_CN_REPEATED'))
  it('refuses a certificate naming no one', () => assert.equal(identityOf(mintClient(ca, undefined)), 'BROKER_ERR_CN_MISSING'))
  it('refuses a CA certificate', () => assert.equal(identityOf(mintClient(ca, 'd:s:1', { isCA: true })), 'BROKER_ERR_CERT_IS_CA'))
  it('refuses an extended key usage without clientAuth', () => assert.equal(identityOf(mintClient(ca, 'd:s:1', { extKeyUsage: 'serverAuth' })), 'BROKER_ERR_CERT_NO_CLIENT_AUTH'))
  it('accepts a certificate without extended key usage (RFC 5280: any use)', () => assert.equal(identityOf(mintClient(ca, 'd:s:1', { extKeyUsage: 'none' })), 'd:s:1'))
  it('refuses a CN with a newline', () => assert.equal(identityOf(mintClient(ca, 'd:s:1\n')), 'BROKER_ERR_CN_MALFORMED'))
})

describe('identity: clientId binding', () => {
  const device: Identity = { kind: 'device', typeId: 'sensor', id: 'd1', commonName: 'd:sensor:d1' }
  const app: Identity = { kind: 'application', appId: 'dash', commonName: 'a:dash' }
  const cases: Array<[Identity, string, boolean]> = [
    [device, 'd:acme:sensor:d1', true],
    [device, 'd:acme:sensor:d2', false],
    [device, 'd:other:sensor:d1', false],
    [device, 'd:acme:sensor:d1:1', false],
    [device, 'g:acme:sensor:d1', false],
    [device, '', false],
    [app, 'a:acme:dash', true],
    [app, 'a:acme:dash:7', true],
    [app, 'a:acme:dash:', false],
    [app, 'a:acme:dash:a/b', false],
    [app, 'a:acme:dashboard', false]
  ]
  for (const [identity, clientId, want] of cases) {
    it(`${want ? 'accepts' : 'refuses'} ${JSON.stringify(clientId)} for ${identity.commonName}`, () => {
      assert.equal(clientIdBelongsTo(clientId, identity, 'acme'), want)
    })
  }
})
