import forge from 'node-forge'
import { algorithmIdentifier, signStructure, subjectNameAsn1 } from './asn1-signing.js'
import type { OrgState } from './records.js'
import type { CaSigner } from './signer.js'
import { authorityKeyIdentifierFor } from './x509-builder.js'

const { asn1 } = forge
const { Class, Type } = asn1
const CRL_NUMBER = '2.5.29.20'
const AUTHORITY_KEY_IDENTIFIER = '2.5.29.35'
const DAY_MS = 24 * 60 * 60 * 1000

/**
 * The CRL of an organisation's managed CA (RFC 5280 5.1, v2): the serials
 * operators revoked with `cert revoke`, valid for a day, signed by the CA.
 * Certificates the CA signs point to it (cRLDistributionPoints), so TLS
 * clients and tools that check revocation can, and scanners find it.
 * node-forge assembles the ASN.1 (it has no CRL writer); the CA's signer signs,
 * with the algorithm of the CA's key (RSA, ECDSA or Ed25519).
 */
export async function buildOrgCrl (org: OrgState, signer: CaSigner, now = new Date()): Promise<Buffer> {
  const fields: forge.asn1.Asn1[] = [
    integer(Buffer.from([1])), // v2, for the extensions
    algorithmIdentifier(signer.signatureOid),
    // RFC 5280 5.1.2.3: the issuer is the CA's subject, as encoded in its certificate.
    subjectNameAsn1(signer.certPem),
    utcTime(now),
    utcTime(new Date(now.getTime() + DAY_MS))
  ]
  if (org.revocations.length > 0) {
    fields.push(seq(org.revocations.map(r => seq([integer(serialBytes(r.serial)), utcTime(new Date(r.revokedAt))]))))
  }
  fields.push(asn1.create(Class.CONTEXT_SPECIFIC, 0, true, [seq([
    extension(CRL_NUMBER, integer(numberBytes(Math.floor(now.getTime() / 1000)))),
    // RFC 5280 5.2.1: the CA's key identifier as its certificate states it, so relying parties pair the CRL with the CA.
    extension(AUTHORITY_KEY_IDENTIFIER, seq([asn1.create(Class.CONTEXT_SPECIFIC, 0, false, authorityKeyIdentifierFor(signer.certPem).toString('binary'))]))
  ])]))
  return await signStructure(seq(fields), signer)
}

function seq (values: forge.asn1.Asn1[]): forge.asn1.Asn1 {
  return asn1.create(Class.UNIVERSAL, Type.SEQUENCE, true, values)
}

function oid (value: string): forge.asn1.Asn1 {
  return asn1.create(Class.UNIVERSAL, Type.OID, false, asn1.oidToDer(value).getBytes())
}

function integer (bytes: Buffer): forge.asn1.Asn1 {
  return asn1.create(Class.UNIVERSAL, Type.INTEGER, false, bytes.toString('binary'))
}

function utcTime (date: Date): forge.asn1.Asn1 {
  return asn1.create(Class.UNIVERSAL, Type.UTCTIME, false, asn1.dateToUtcTime(date))
}

function extension (id: string, value: forge.asn1.Asn1): forge.asn1.Asn1 {
  return seq([oid(id), asn1.create(Class.UNIVERSAL, Type.OCTETSTRING, false, asn1.toDer(value).getBytes())])
}

/** A serial as a DER INTEGER's bytes: big-endian, a leading zero when the top bit is set (it is positive). */
function serialBytes (serialHex: string): Buffer {
  const bytes = Buffer.from(serialHex.length % 2 === 0 ? serialHex : '0' + serialHex, 'hex')
  return bytes[0] >= 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes
}

function numberBytes (value: number): Buffer {
  return serialBytes(value.toString(16))
}

export function crlToPem (der: Buffer): string {
  return `-----BEGIN X509 CRL-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n?$/, '\n')}-----END X509 CRL-----\n`
}
