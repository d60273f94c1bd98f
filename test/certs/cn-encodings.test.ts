import assert from 'node:assert/strict'
import forge from 'node-forge'
import { identityFromCertificate } from '../../access/index.js'
import { addCa, inspectCertificate } from '../../certs/index.js'
import { STRING_TAGS } from '../../certs/certificate-facts.js'
import { startTestGateway, type TestGateway } from '../support/gateway.js'
import { tryConnect } from '../support/mqtt-client.js'
import { openssl } from '../support/openssl.js'
import { mintCa, type TestCert } from '../support/pki.js'

/**
 * A subject CN may be any DirectoryString (RFC 5280 4.1.2.4, X.520): CAs in
 * the field write PrintableString, UTF8String, BMPString (Windows CAs),
 * IA5String and TeletexString. Each is decoded to its text first, and only
 * then do the identity rules apply, so that the same name is the same
 * identity whatever its encoding, and a non-ASCII name is refused as
 * malformed rather than as undecodable.
 */

const ENCODINGS = [
  { name: 'PrintableString', tag: STRING_TAGS.PRINTABLE, openssl: 'PRINTABLESTRING' },
  { name: 'UTF8String', tag: STRING_TAGS.UTF8, openssl: 'UTF8STRING' },
  { name: 'BMPString', tag: STRING_TAGS.BMP, openssl: 'BMPSTRING' },
  { name: 'IA5String', tag: STRING_TAGS.IA5, openssl: 'IA5STRING' },
  { name: 'TeletexString', tag: STRING_TAGS.TELETEX, openssl: 'T61STRING' }
] as const

const ca: TestCert = mintCa('Encodings CA')
const keys = forge.pki.rsa.generateKeyPair(1024)

/** A device certificate whose CN is `value` in the ASN.1 string type `tag` (node-forge writes the tag as given). */
function certificateWithCn (value: string, tag: number): TestCert {
  const issuer = forge.pki.certificateFromPem(ca.certPem)
  const cert = forge.pki.createCertificate()
  cert.publicKey = keys.publicKey
  cert.serialNumber = '01' + forge.util.bytesToHex(forge.random.getBytesSync(8))
  cert.validity.notBefore = new Date(Date.now() - 3600_000)
  cert.validity.notAfter = new Date(Date.now() + 86_400_000)
  cert.setSubject([{ shortName: 'CN', value, valueTagClass: tag } as forge.pki.CertificateField])
  cert.setIssuer(issuer.subject.attributes)
  cert.setExtensions([{ name: 'basicConstraints', cA: false }, { name: 'extKeyUsage', clientAuth: true }])
  cert.sign(forge.pki.privateKeyFromPem(ca.keyPem) as forge.pki.rsa.PrivateKey, forge.md.sha256.create())
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey) }
}

describe('CN encodings', () => {
  for (const encoding of ENCODINGS) {
    // An odd length: a BMPString read as bytes then would not even split into UTF-16 units.
    const name = `d:sensor:enc-${encoding.name.toLowerCase()}1`
    it(`decodes a ${encoding.name} CN and applies the identity rules to its text`, () => {
      const { certPem } = certificateWithCn(name, encoding.tag)
      // openssl names the string type it reads, and the same text.
      assert.equal(openssl(['x509', '-noout', '-subject', '-nameopt', 'sep_comma_plus,show_type,esc_msb,utf8'], { input: certPem }).trim(), `subject=CN=${encoding.openssl}:${name}`)
      const facts = inspectCertificate(certPem)
      assert.deepEqual(facts.subjectCommonNames, [name])
      const identity = identityFromCertificate(facts)
      assert.ok(identity.ok, JSON.stringify(identity))
      assert.equal(identity.value.commonName, name)
    })
  }

  for (const encoding of ENCODINGS.filter(e => e.tag === STRING_TAGS.UTF8 || e.tag === STRING_TAGS.BMP)) {
    it(`refuses a non-ASCII ${encoding.name} CN as malformed, having read its text`, () => {
      const facts = inspectCertificate(certificateWithCn('d:sensor:café', encoding.tag).certPem)
      assert.deepEqual(facts.subjectCommonNames, ['d:sensor:café'])
      assert.deepEqual(identityFromCertificate(facts), { ok: false, code: 'BROKER_ERR_CN_MALFORMED', reason: (identityFromCertificate(facts) as { reason: string }).reason })
    })
  }

  describe('over TLS', function () {
    this.timeout(30_000)
    let gw: TestGateway
    before(async () => {
      gw = await startTestGateway({ orgs: ['enc'] })
      await addCa(gw.registry, 'enc', ca.certPem, 'encodings', 'test')
    })
    after(async () => await gw?.close())

    it('connects a device whose CN is a BMPString (as Windows CAs write it)', async () => {
      const cert = certificateWithCn('d:sensor:bmp-tls', STRING_TAGS.BMP)
      const result = await tryConnect({ port: gw.port, servername: gw.serverName('enc'), caPem: gw.caOf('enc'), cert, clientId: 'd:enc:sensor:bmp-tls' })
      if (result.outcome === 'connected') await result.client.endAsync(true)
      assert.equal(result.outcome, 'connected', JSON.stringify(result))
    })
  })
})
