import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { createManagedCa, generateKeyPair, serialFrom } from '../../certs/index.js'
import { mintProfiled } from '../support/pki.js'

describe('certificates: serial numbers', () => {
  for (const first of ['00', '01', '7f', '80', 'ff']) {
    it(`makes a positive, minimally encoded serial from random octets starting ${first}`, () => {
      const serial = serialFrom(Buffer.from(`${first}00112233445566778899aabbccddeeff`.slice(0, 32), 'hex'))
      assert.equal(serial.length, 32)
      const lead = parseInt(serial.slice(0, 2), 16)
      assert.ok(lead >= 0x40 && lead <= 0x7f, `first octet ${serial.slice(0, 2)}: not zero (no padding) and high bit clear (non-negative)`)
    })
  }

  // With the first octet only masked with 0x7f, one certificate in 256 had a
  // zero-padded serial that OpenSSL refuses to load: 1,000 fail that way with
  // a probability of 98 %.
  it('issues certificates that OpenSSL loads, a thousand in a row', async function () {
    this.timeout(60_000)
    const ca = await createManagedCa('serials')
    const { publicKeyPem } = generateKeyPair('ec')
    for (let i = 0; i < 1000; i++) {
      const { certPem } = mintProfiled(ca, 'client', [`d:sensor:s${i}`], { publicKeyPem })
      const cert = new X509Certificate(certPem)
      assert.match(cert.serialNumber, /^[4-7][0-9A-F]{31}$/)
    }
  })
})
