import { createHash, verify, type X509Certificate } from 'node:crypto'
import forge from 'node-forge'
import { VERIFY_HASHES } from './asn1-signing.js'
import { CertsError } from './errors.js'
import { normalizeSerial, type CrlRecord } from './records.js'

/**
 * Reads an X.509 CRL (RFC 5280 5.1) with node-forge's ASN.1 reader and checks
 * with Node's crypto (RSA, ECDSA, Ed25519) that the CA signed it.
 *
 * CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue BIT STRING }
 * TBSCertList ::= SEQUENCE { version INTEGER OPTIONAL, signature, issuer, thisUpdate,
 *   nextUpdate OPTIONAL, revokedCertificates SEQUENCE OF SEQUENCE { serial, date, ... } OPTIONAL,
 *   crlExtensions [0] OPTIONAL }
 */
export function readCrl (input: string | Buffer, ca: X509Certificate, now = new Date()): CrlRecord {
  const der = crlBytes(input)
  let parsed: ParsedCrl
  try {
    parsed = parseCrl(der)
  } catch (err) {
    throw new CertsError('CERTS_ERR_CRL_UNPARSABLE', 'the CRL could not be decoded', { cause: err })
  }
  const hash = VERIFY_HASHES[parsed.signatureOid]
  if (hash === undefined) throw new CertsError('CERTS_ERR_CRL_UNPARSABLE', `unsupported CRL signature algorithm ${parsed.signatureOid}`)
  if (!verify(hash, parsed.tbs, ca.publicKey, parsed.signature)) {
    throw new CertsError('CERTS_ERR_CRL_SIGNATURE', 'the CRL is not signed by this CA')
  }
  // RFC 5280 6.3.3 (b): the CRL issuer must be the certificate's issuer. Compared as DER: the
  // CA's tools write the same encoding in its certificate and its CRLs (OpenSSL compares likewise).
  if (!parsed.issuer.equals(subjectDerOf(ca))) {
    throw new CertsError('CERTS_ERR_CRL_ISSUER', 'the CRL\'s issuer is not this CA\'s subject')
  }
  // RFC 5280 5.1.2.5: past nextUpdate the CA has issued (or owes) a newer list; loading a stale
  // one would silently miss every revocation since.
  if (parsed.nextUpdate !== undefined && parsed.nextUpdate.getTime() < now.getTime()) {
    throw new CertsError('CERTS_ERR_CRL_EXPIRED', `the CRL's nextUpdate (${parsed.nextUpdate.toISOString()}) has passed: load the CA's current CRL`)
  }
  return {
    serials: parsed.serials,
    thisUpdate: parsed.thisUpdate.toISOString(),
    ...(parsed.nextUpdate === undefined ? {} : { nextUpdate: parsed.nextUpdate.toISOString() }),
    loadedAt: now.toISOString(),
    fingerprint: createHash('sha256').update(der).digest('hex')
  }
}

/** The SHA-256 of a CRL's DER (PEM or DER given): its fingerprint as readCrl records it, without parsing it. */
export function crlFingerprint (input: string | Buffer): string {
  return createHash('sha256').update(crlBytes(input)).digest('hex')
}

function crlBytes (input: string | Buffer): Buffer {
  const text = typeof input === 'string' ? input : input.toString('latin1')
  const pem = /-----BEGIN X509 CRL-----([\s\S]+?)-----END X509 CRL-----/.exec(text)
  if (pem !== null) return Buffer.from(pem[1].replace(/\s+/g, ''), 'base64')
  if (text.includes('-----BEGIN')) throw new CertsError('CERTS_ERR_CRL_UNPARSABLE', 'the PEM holds no X509 CRL block')
  return typeof input === 'string' ? Buffer.from(input.trim(), 'base64') : input
}

interface ParsedCrl {
  readonly tbs: Buffer
  readonly issuer: Buffer
  readonly signatureOid: string
  readonly signature: Buffer
  readonly thisUpdate: Date
  readonly nextUpdate?: Date
  readonly serials: string[]
}

type Asn1 = forge.asn1.Asn1
const { Type } = forge.asn1

function parseCrl (der: Buffer): ParsedCrl {
  const fromDer = forge.asn1.fromDer as unknown as (bytes: forge.util.ByteStringBuffer, options: object) => Asn1
  const list = fromDer(forge.util.createBuffer(der.toString('binary')), { strict: true, parseAllBytes: true, decodeBitStrings: false })
  const [tbs, algorithm, signatureValue] = list.value as Asn1[]
  if (tbs?.type !== Type.SEQUENCE || algorithm?.type !== Type.SEQUENCE || signatureValue?.type !== Type.BITSTRING) throw new Error('not a CertificateList')
  const fields = tbs.value as Asn1[]
  let i = fields[0]?.type === Type.INTEGER ? 1 : 0
  const issuer = fields[i + 1]
  if (issuer?.type !== Type.SEQUENCE) throw new Error('CRL without an issuer name')
  i += 2 // signature algorithm, issuer
  const thisUpdate = readTime(fields[i++])
  const nextUpdate = isTime(fields[i]) ? readTime(fields[i++]) : undefined
  const revoked = fields[i]?.type === Type.SEQUENCE && fields[i].tagClass === forge.asn1.Class.UNIVERSAL ? fields[i].value as Asn1[] : []
  const serials = revoked.map(entry => {
    const serial = (entry.value as Asn1[])[0]
    if (serial?.type !== Type.INTEGER) throw new Error('revoked entry without a serial')
    return normalizeSerial(Buffer.from(serial.value as string, 'binary').toString('hex'))
  })
  const bits = Buffer.from(signatureValue.value as string, 'binary')
  if (bits[0] !== 0) throw new Error('signature bit string with unused bits')
  return {
    // DER has one encoding per value, so re-encoding yields the bytes the CA signed.
    tbs: Buffer.from(forge.asn1.toDer(tbs).getBytes(), 'binary'),
    issuer: derOf(issuer),
    signatureOid: forge.asn1.derToOid((algorithm.value as Asn1[])[0].value as string),
    signature: bits.subarray(1),
    thisUpdate,
    nextUpdate,
    serials
  }
}

function derOf (node: Asn1): Buffer {
  return Buffer.from(forge.asn1.toDer(node).getBytes(), 'binary')
}

/** TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber, signature, issuer, validity, subject, ... } */
function subjectDerOf (ca: X509Certificate): Buffer {
  const cert = forge.asn1.fromDer(forge.util.createBuffer(ca.raw.toString('binary')))
  const fields = (cert.value as Asn1[])[0].value as Asn1[]
  const first = fields[0]?.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC ? 1 : 0
  return derOf(fields[first + 4])
}

function isTime (node: Asn1 | undefined): node is Asn1 {
  return node?.type === Type.UTCTIME || node?.type === Type.GENERALIZEDTIME
}

function readTime (node: Asn1 | undefined): Date {
  if (!isTime(node)) throw new Error('missing time')
  return node.type === Type.UTCTIME ? forge.asn1.utcTimeToDate(node.value as string) : forge.asn1.generalizedTimeToDate(node.value as string)
}
