import { X509Certificate, createHash, createPublicKey } from 'node:crypto'
import forge from 'node-forge'
import { CertsError } from './errors.js'

/** What the gateway needs to know about one X.509 certificate, decoded once. */
export interface CertificateFacts {
  readonly der: Buffer
  readonly x509: X509Certificate
  /** SHA-256 of the DER, lowercase hex without separators (Cloudflare's fingerprint_sha256 form). */
  readonly fingerprint: string
  /** Serial number, uppercase hex as OpenSSL prints it. */
  readonly serial: string
  readonly subject: string
  readonly issuer: string
  /** Every CN attribute of the subject, in order; a well-formed identity has exactly one. */
  readonly subjectCommonNames: readonly string[]
  /** True when one RDN of the subject holds several attributes (`CN=a+O=b`). */
  readonly subjectHasMultiValuedRdn: boolean
  readonly sanEmails: readonly string[]
  readonly sanDnsNames: readonly string[]
  readonly sanIps: readonly string[]
  /** basicConstraints CA:TRUE. (Node's `x509.ca` is OpenSSL's X509_check_ca, false when keyUsage lacks keyCertSign.) */
  readonly isCA: boolean
  /** keyUsage bits that are set, or undefined when the extension is absent. */
  readonly keyUsage: readonly string[] | undefined
  /** extKeyUsage OIDs, or undefined when the extension is absent. */
  readonly extKeyUsage: readonly string[] | undefined
  readonly notBefore: Date
  readonly notAfter: Date
  /** subjectKeyIdentifier, lowercase hex, or undefined when absent. */
  readonly subjectKeyIdentifier: string | undefined
}

export const OID_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2'
export const OID_SERVER_AUTH = '1.3.6.1.5.5.7.3.1'
const OID_COMMON_NAME = '2.5.4.3'
const KEY_USAGE_BITS = ['digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment',
  'keyAgreement', 'keyCertSign', 'cRLSign', 'encipherOnly', 'decipherOnly'] as const

/** Decodes a certificate given as DER bytes or as one PEM block. */
export function inspectCertificate (input: Buffer | string): CertificateFacts {
  let x509: X509Certificate
  try {
    x509 = new X509Certificate(input)
  } catch (err) {
    throw new CertsError('CERTS_ERR_CERT_UNPARSABLE', 'the certificate could not be decoded', { cause: err })
  }
  const der = x509.raw
  const tbs = readTbs(der)
  const extensions = readExtensions(tbs)
  const san = extensions.get('subjectAltName')
  const altNames: Array<{ type: number, value: string, ip?: string }> = san?.altNames ?? []
  const keyUsage = extensions.get('keyUsage')
  return Object.freeze({
    der,
    x509,
    fingerprint: createHash('sha256').update(der).digest('hex'),
    serial: x509.serialNumber.toUpperCase(),
    subject: x509.subject,
    issuer: x509.issuer,
    ...readSubject(tbs),
    sanEmails: altNames.filter(n => n.type === 1).map(n => latin1(n.value)),
    sanDnsNames: altNames.filter(n => n.type === 2).map(n => latin1(n.value)),
    sanIps: altNames.filter(n => n.type === 7 && n.ip !== undefined).map(n => n.ip as string),
    isCA: extensions.get('basicConstraints')?.cA === true,
    keyUsage: keyUsage === undefined ? undefined : KEY_USAGE_BITS.filter(bit => keyUsage[bit] === true),
    extKeyUsage: x509.keyUsage,
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
    subjectKeyIdentifier: extensions.get('subjectKeyIdentifier')?.subjectKeyIdentifier
  })
}

/** Splits a PEM bundle into its certificate blocks, in order. */
export function splitPemCertificates (pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
}

export function isWithinValidity (facts: Pick<CertificateFacts, 'notBefore' | 'notAfter'>, at: Date): boolean {
  return facts.notBefore.getTime() <= at.getTime() && at.getTime() <= facts.notAfter.getTime()
}

/** RFC 5280 4.2.1.12: without the extension any use is allowed; with it, clientAuth must be listed. */
export function allowsClientAuth (facts: CertificateFacts): boolean {
  return facts.extKeyUsage === undefined || facts.extKeyUsage.includes(OID_CLIENT_AUTH)
}

type Asn1 = forge.asn1.Asn1

function readTbs (der: Buffer): Asn1[] {
  try {
    const cert = forge.asn1.fromDer(forge.util.createBuffer(der.toString('binary')), true)
    return (cert.value as Asn1[])[0].value as Asn1[]
  } catch (err) {
    throw new CertsError('CERTS_ERR_CERT_UNPARSABLE', 'the certificate structure could not be decoded', { cause: err })
  }
}

// TBSCertificate (RFC 5280 4.1): [0] version (optional), serial, signature,
// issuer, validity, subject, subjectPublicKeyInfo, ..., [3] extensions.
function tbsField (tbs: Asn1[], index: number): Asn1 {
  const hasVersion = tbs[0].tagClass === forge.asn1.Class.CONTEXT_SPECIFIC
  return tbs[index + (hasVersion ? 1 : 0)]
}

function readSubject (tbs: Asn1[]): { subjectCommonNames: string[], subjectHasMultiValuedRdn: boolean } {
  const rdns = tbsField(tbs, 4).value as Asn1[]
  const subjectCommonNames: string[] = []
  let subjectHasMultiValuedRdn = false
  for (const rdn of rdns) {
    const attributes = rdn.value as Asn1[]
    if (attributes.length !== 1) subjectHasMultiValuedRdn = true
    for (const attribute of attributes) {
      const [oid, value] = attribute.value as Asn1[]
      if (forge.asn1.derToOid(oid.value as string) === OID_COMMON_NAME) {
        subjectCommonNames.push(decodeDirectoryString(value))
      }
    }
  }
  return { subjectCommonNames, subjectHasMultiValuedRdn }
}

/** ASN.1 universal tags of the DirectoryString choices (X.680 8.4); node-forge names only some of them. */
export const STRING_TAGS = Object.freeze({ UTF8: 12, PRINTABLE: 19, TELETEX: 20, IA5: 22, VISIBLE: 26, UNIVERSAL: 28, BMP: 30 } as const)

/**
 * The text of a DirectoryString (RFC 5280 4.1.2.4) or IA5String, decoded once
 * by its own type. node-forge's reader already turns a BMPString into a
 * JavaScript string (UTF-16 code units); every other type arrives as raw
 * bytes. Bytes a type cannot hold decode to U+FFFD, which no name rule
 * accepts.
 */
export function decodeDirectoryString (value: Asn1): string {
  const raw = value.value as string
  const bytes = (): Buffer => Buffer.from(raw, 'binary')
  switch (value.type as number) {
    case STRING_TAGS.BMP: return raw
    case STRING_TAGS.UTF8: return bytes().toString('utf8')
    // UCS-4 big-endian.
    case STRING_TAGS.UNIVERSAL: {
      const b = bytes()
      let text = ''
      for (let i = 0; i + 4 <= b.length; i += 4) {
        const point = b.readUInt32BE(i)
        text += point <= 0x10ffff ? String.fromCodePoint(point) : '\uFFFD'
      }
      return b.length % 4 === 0 ? text : text + '\uFFFD'
    }
    // 7-bit types: a byte above 0x7F is not one of their characters.
    case STRING_TAGS.PRINTABLE:
    case STRING_TAGS.IA5:
    case STRING_TAGS.VISIBLE: return [...bytes()].map(c => c < 0x80 ? String.fromCharCode(c) : '\uFFFD').join('')
    // TeletexString (T.61) is read as Latin-1, as OpenSSL and most CAs treat it.
    case STRING_TAGS.TELETEX:
    default: return bytes().toString('latin1')
  }
}

function latin1 (binary: string): string {
  return Buffer.from(binary, 'binary').toString('latin1')
}

function readExtensions (tbs: Asn1[]): Map<string, any> {
  const found = new Map<string, any>()
  const wrapper = tbs.find(node => node.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && node.type === 3)
  if (wrapper === undefined) return found
  const list = (wrapper.value as Asn1[])[0].value as Asn1[]
  const fromAsn1 = (forge.pki as any).certificateExtensionFromAsn1 as (ext: Asn1) => any
  for (const ext of list) {
    try {
      const parsed = fromAsn1(ext)
      if (parsed.name !== undefined) found.set(parsed.name, parsed)
    } catch (err) {
      throw new CertsError('CERTS_ERR_CERT_UNPARSABLE', 'a certificate extension could not be decoded', { cause: err })
    }
  }
  return found
}

/** True when `keyPem` is the private key of the certificate's public key. */
export function keyMatchesCertificate (facts: CertificateFacts, keyPem: string): boolean {
  let derived: string
  try {
    derived = createPublicKey(keyPem).export({ type: 'spki', format: 'pem' }).toString()
  } catch (err) {
    throw new CertsError('CERTS_ERR_KEY_UNPARSABLE', 'the private key could not be decoded', { cause: err })
  }
  return derived === facts.x509.publicKey.export({ type: 'spki', format: 'pem' }).toString()
}
