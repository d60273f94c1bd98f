import assert from 'node:assert/strict'
import { ConfigError, loadConfig } from '../../config/gateway-config.js'
import { isCertsError } from '../../certs/index.js'
import { parsePkcs11Uri } from '../../certs/pkcs11-uri.js'

describe('configuration: MQGATE_PKCS11_MODULE and MQGATE_PKCS11_PIN', () => {
  it('leaves the token out when neither is set', () => {
    assert.equal(loadConfig({}).pkcs11, undefined)
  })

  it('reads both into the frozen configuration', () => {
    const cfg = loadConfig({ MQGATE_PKCS11_MODULE: '/usr/lib/softhsm/libsofthsm2.so', MQGATE_PKCS11_PIN: '5678' })
    assert.deepEqual(cfg.pkcs11, { modulePath: '/usr/lib/softhsm/libsofthsm2.so', pin: '5678' })
    assert.ok(Object.isFrozen(cfg.pkcs11))
  })

  it('refuses a PIN without a module, and does not repeat the PIN in the error', () => {
    assert.throws(() => loadConfig({ MQGATE_PKCS11_PIN: 's3cret-pin' }), (err: unknown) => {
      assert.ok(err instanceof ConfigError)
      assert.match(err.message, /MQGATE_PKCS11_MODULE and MQGATE_PKCS11_PIN go together/)
      assert.doesNotMatch(err.message, /s3cret-pin/)
      return true
    })
  })
})

describe('PKCS#11 key URIs (RFC 7512)', () => {
  const good: Array<{ name: string, uri: string, want: Record<string, unknown> }> = [
    { name: 'token and object', uri: 'pkcs11:token=mqgate;object=acme-ca', want: { token: 'mqgate', object: 'acme-ca' } },
    { name: 'an id in %XX escapes', uri: 'pkcs11:token=t;id=%01%ab', want: { token: 't', id: Buffer.from([1, 0xab]) } },
    { name: 'escaped characters and type=private', uri: 'pkcs11:token=my%20token;object=ca%3Bone;type=private', want: { token: 'my token', object: 'ca;one' } }
  ]
  for (const c of good) it(`reads ${c.name}`, () => assert.deepEqual(parsePkcs11Uri(c.uri), c.want))

  const bad: Array<{ name: string, uri: string }> = [
    { name: 'another scheme', uri: 'file:token=t;object=a' },
    { name: 'no token', uri: 'pkcs11:object=a' },
    { name: 'no object nor id', uri: 'pkcs11:token=t' },
    { name: 'a PIN in the query', uri: 'pkcs11:token=t;object=a?pin-value=1234' },
    { name: 'an unknown attribute', uri: 'pkcs11:token=t;object=a;colour=red' },
    { name: 'a broken escape', uri: 'pkcs11:token=t;id=%0' },
    { name: 'a public key', uri: 'pkcs11:token=t;object=a;type=public' }
  ]
  for (const c of bad) {
    it(`refuses ${c.name} with CERTS_ERR_HSM_URI_INVALID`, () => {
      assert.throws(() => parsePkcs11Uri(c.uri), (err: unknown) => isCertsError(err, 'CERTS_ERR_HSM_URI_INVALID') && !err.message.includes('1234'))
    })
  }
})
