import { X509Certificate } from 'node:crypto'
import * as asn1js from 'asn1js'
import * as pkijs from 'pkijs'
import { CertsError } from '../errors.js'

/**
 * The bodies EST (RFC 7030) carries, in and out. Requests are base64 DER
 * PKCS#10 (§4.2.1, Content-Transfer-Encoding base64, RFC 2045 line breaks
 * allowed); answers are base64 DER CMS SignedData "certs-only" (§4.1.3,
 * §4.2.3: no content, no signers, the certificates in `certificates`).
 * pkijs assembles the CMS structure; nothing here writes DER by hand.
 */

const OID_PKCS7_DATA = '1.2.840.113549.1.7.1'
const OID_PKCS7_SIGNED_DATA = '1.2.840.113549.1.7.2'

/** `application/pkcs7-mime; smime-type=certs-only`, base64 of a CMS certs-only SignedData holding the certificates, in order. */
export function certsOnlyBase64 (certPems: readonly string[]): string {
  const signedData = new pkijs.SignedData({
    version: 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: OID_PKCS7_DATA }),
    certificates: certPems.map(pem => pkijs.Certificate.fromBER(new X509Certificate(pem).raw)),
    signerInfos: [],
    digestAlgorithms: []
  })
  const contentInfo = new pkijs.ContentInfo({ contentType: OID_PKCS7_SIGNED_DATA, content: signedData.toSchema(true) })
  return wrap64(Buffer.from(contentInfo.toSchema().toBER(false)).toString('base64'))
}

/** The PEM of the PKCS#10 in an EST request body (base64 DER; a PEM body is taken too, as curl users paste one). */
export function csrPemFromEstBody (body: Buffer | string): string {
  const text = Buffer.isBuffer(body) ? body.toString('latin1') : body
  const base64 = text.includes('-----BEGIN')
    ? text.replace(/-----(BEGIN|END) (NEW )?CERTIFICATE REQUEST-----/g, '')
    : text
  const compact = base64.replace(/[\r\n\t ]/g, '')
  if (compact.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) {
    throw new CertsError('CERTS_ERR_CSR_UNPARSABLE', 'the request body is not a base64 PKCS#10 certification request (RFC 7030 4.2.1)')
  }
  const der = Buffer.from(compact, 'base64')
  const parsed = asn1js.fromBER(der)
  if (parsed.offset === -1 || parsed.offset !== der.length) {
    throw new CertsError('CERTS_ERR_CSR_UNPARSABLE', 'the request body does not decode to one DER certification request')
  }
  return `-----BEGIN CERTIFICATE REQUEST-----\n${wrap64(compact)}-----END CERTIFICATE REQUEST-----\n`
}

/** Base64 in lines of 64 characters, each ending with a newline (RFC 2045 / RFC 7468). */
function wrap64 (base64: string): string {
  return (base64.match(/.{1,64}/g) ?? []).map(line => `${line}\n`).join('')
}
