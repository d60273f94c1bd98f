import assert from 'node:assert/strict'
import { createHash, createPublicKey, X509Certificate } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { assertExitedZero as assertDone, cliJson } from '../support/mqgate-cli.js'
import { startMqgateProcess, type MqgateProcess } from '../support/mqgate-process.js'
import { openssl } from '../support/openssl.js'
import { fetchServedCrl, verifyWithServedCrl } from '../support/served-crl.js'

/**
 * Key identifiers (RFC 5280 4.2.1.1, 4.2.1.2) of what a managed CA signs, for
 * every key type a managed CA can have, checked by openssl: the CA, the
 * organisation's server certificate, device certificates and the CRL that
 * `GET /crl/<org>.crl` serves, with `openssl verify -crl_check`. All of it
 * over a real `mqgate start` child and the `mqgate` CLI.
 */

const KEY_TYPES = [
  { keyType: 'rsa', signature: 'sha256WithRSAEncryption', recorded: 'SHA256WithRSA' },
  { keyType: 'p256', signature: 'ecdsa-with-SHA256', recorded: 'ECDSAWithSHA256' },
  { keyType: 'p384', signature: 'ecdsa-with-SHA384', recorded: 'ECDSAWithSHA384' },
  { keyType: 'ed25519', signature: 'ED25519', recorded: 'Ed25519' }
] as const

/** SHA-1 of the subjectPublicKey BIT STRING's value (RFC 5280 4.2.1.2 method 1), located by openssl asn1parse, not by mqgate's code. */
function method1KeyId (certPem: string): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' })
  const line = openssl(['asn1parse', '-inform', 'DER'], { input: spki }).split('\n').find(l => /d=1 .*BIT STRING/.test(l))
  const match = /^\s*(\d+):d=1\s+hl=(\d+)\s+l=\s*(\d+)/.exec(line ?? '')
  assert.ok(match !== null, `no BIT STRING in the SPKI: ${String(line)}`)
  const [offset, headerLength, length] = [Number(match[1]), Number(match[2]), Number(match[3])]
  // The BIT STRING's content is one unused-bits octet, then the key's bits.
  return createHash('sha1').update(spki.subarray(offset + headerLength + 1, offset + headerLength + length)).digest('hex')
}

/** `keyid` of an extension as openssl prints it, lowercase hex without colons. */
function extensionKeyId (text: string, extension: 'Subject Key Identifier' | 'Authority Key Identifier'): string {
  const match = new RegExp(`X509v3 ${extension}:\\s*\\n\\s*(?:keyid:)?([0-9A-F:]+)`).exec(text)
  assert.ok(match !== null, `no ${extension} in:\n${text}`)
  return match[1].replaceAll(':', '').toLowerCase()
}

const CURVE_OR_TYPE: Record<string, string> = { rsa: 'rsa', p256: 'prime256v1', p384: 'secp384r1', ed25519: 'ed25519' }

const certText = (file: string): string => openssl(['x509', '-in', file, '-noout', '-text'])

describe('key identifiers of managed CAs, checked with openssl verify -crl_check', function () {
  this.timeout(120_000)
  let gateway: MqgateProcess

  before(async () => { gateway = await startMqgateProcess() })
  after(async () => await gateway?.stop())

  const json = async (args: readonly string[]): Promise<any> => await cliJson(gateway.cli, args)

  for (const { keyType, signature, recorded } of KEY_TYPES) {
    it(`gives a ${keyType} managed CA, its server and device certificates and its served CRL matching key identifiers that openssl verifies`, async () => {
      const orgId = `ki-${keyType}`
      // RSA is the default: created without --ca-key-type, as an existing install's organisations were.
      const created = await json(['org', 'create', orgId, ...(keyType === 'rsa' ? [] : ['--ca-key-type', keyType])])
      assert.equal(created.id, orgId)
      const dir = path.join(gateway.dataDir, 'ki-out', keyType)
      const good = await json(['cert', 'issue', orgId, '--cn', 'd:sensor:good', '--out', dir])
      const bad = await json(['cert', 'issue', orgId, '--cn', 'd:sensor:bad', '--out', dir])
      assertDone(await gateway.cli(['cert', 'revoke', orgId, bad.serial_number]))
      const server = (await json(['server-cert', 'list', orgId])).server_certificates[0]
      writeFileSync(path.join(dir, 'server.crt'), server.certificate)
      const caPem = good.ca_certificate as string
      const crl = await fetchServedCrl(gateway, orgId, caPem)
      openssl(['crl', '-inform', 'DER', '-out', path.join(dir, 'served.crl.pem')], { input: crl })

      // The operator's check from the issue: good passes, revoked fails, with mqgate's own CRL.
      assert.match(verifyWithServedCrl(dir, path.join(dir, 'd_sensor_good.crt')), /d_sensor_good\.crt: OK/)
      assert.match(verifyWithServedCrl(dir, path.join(dir, 'server.crt')), /server\.crt: OK/)
      assert.match(verifyWithServedCrl(dir, path.join(dir, 'd_sensor_bad.crt')), /certificate revoked/)

      const caKey = new X509Certificate(caPem).publicKey
      assert.equal(caKey.asymmetricKeyType === 'ec' ? caKey.asymmetricKeyDetails?.namedCurve : caKey.asymmetricKeyType, CURVE_OR_TYPE[keyType])
      const caText = certText(path.join(dir, 'ca.pem'))
      const caSki = extensionKeyId(caText, 'Subject Key Identifier')
      assert.equal(caSki, method1KeyId(caPem), 'the CA\'s SKI is RFC 5280 method 1 over its own key')
      assert.notEqual(caSki, 'da39a3ee5e6b4b0d3255bfef95601890afd80709', 'not the SHA-1 of nothing')
      assert.match(caText, new RegExp(`Signature Algorithm: ${signature}`))
      for (const file of ['d_sensor_good.crt', 'server.crt']) {
        const text = certText(path.join(dir, file))
        assert.equal(extensionKeyId(text, 'Subject Key Identifier'), method1KeyId(readPem(dir, file)), `${file}: SKI is method 1 over its key`)
        assert.equal(extensionKeyId(text, 'Authority Key Identifier'), caSki, `${file}: AKI is the CA's SKI`)
        assert.match(text, new RegExp(`Signature Algorithm: ${signature}`), file)
      }
      const crlText = openssl(['crl', '-in', path.join(dir, 'served.crl.pem'), '-noout', '-text'])
      assert.equal(extensionKeyId(crlText, 'Authority Key Identifier'), caSki, 'the CRL\'s AKI is the CA\'s SKI')
      assert.match(crlText, new RegExp(`Signature Algorithm: ${signature}`))
      assert.equal(good.signature, recorded, 'the record names the algorithm of the CA\'s key')
    })
  }

  it('gives two RSA managed CAs different key identifiers', async () => {
    await json(['org', 'create', 'ki-rsa-two'])
    const skis = await Promise.all(['demo', 'ki-rsa-two'].map(async orgId => {
      const ca = (await json(['ca', 'list', orgId])).cas.find((c: any) => c.kind === 'managed')
      assert.equal(createPublicKey(ca.certificate).asymmetricKeyType, 'rsa', `${orgId}'s CA is RSA (the default)`)
      return extensionKeyId(openssl(['x509', '-noout', '-text'], { input: ca.certificate }), 'Subject Key Identifier')
    }))
    assert.notEqual(skis[0], skis[1])
  })
})

function readPem (dir: string, file: string): string {
  return openssl(['x509', '-in', path.join(dir, file)])
}
