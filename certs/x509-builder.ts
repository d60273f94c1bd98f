import { createPublicKey, randomBytes, generateKeyPairSync } from 'node:crypto'
import forge from 'node-forge'
import { algorithmIdentifier, forgePlaceholderKey, signStructure, spkiAsn1, subjectKeyIdentifier, subjectNameAsn1, toPem } from './asn1-signing.js'
import { inspectCertificate } from './certificate-facts.js'
import type { CaSigner, KeySigner } from './signer.js'
import { CertsError } from './errors.js'

/**
 * The one place certificates are assembled and signed (node-forge). It takes
 * every field explicitly, so the product profiles (profiles.ts) and the tests'
 * hostile certificates are built by the same code.
 */

export interface KeyPairPem {
  readonly privateKeyPem: string
  readonly publicKeyPem: string
}

export interface SubjectAttribute {
  /** forge short name (CN, O, OU, ...) */
  readonly shortName: string
  readonly value: string
}

export interface AltName {
  /** RFC 5280 GeneralName tag: 1 rfc822Name (email), 2 dNSName, 7 iPAddress */
  readonly type: 1 | 2 | 7
  readonly value: string
}

export interface CertificateSpec {
  readonly subject: readonly SubjectAttribute[]
  readonly publicKeyPem: string
  readonly notBefore: Date
  readonly notAfter: Date
  /** Absent extension when undefined. */
  readonly basicConstraints?: { readonly cA: boolean, readonly pathLenConstraint?: number }
  readonly keyUsage?: Readonly<Record<'digitalSignature' | 'keyEncipherment' | 'keyCertSign' | 'cRLSign', boolean>>
  readonly extKeyUsage?: { readonly serverAuth?: boolean, readonly clientAuth?: boolean, readonly ocspSigning?: boolean }
  readonly altNames?: readonly AltName[]
  /** Where relying parties fetch the issuer's CRL (RFC 5280 4.2.1.13). */
  readonly crlUrl?: string
  /** The issuer's OCSP responder, in an authorityInfoAccess id-ad-ocsp entry (RFC 5280 4.2.2.1). */
  readonly ocspUrl?: string
  /** id-pkix-ocsp-nocheck: a delegated OCSP signer's own status is not checked (RFC 6960 4.2.2.2.1). */
  readonly ocspNoCheck?: boolean
}

const OID_OCSP_SIGNING = '1.3.6.1.5.5.7.3.9'
const OID_AUTHORITY_INFO_ACCESS = '1.3.6.1.5.5.7.1.1'
const OID_AD_OCSP = '1.3.6.1.5.5.7.48.1'
const OID_OCSP_NOCHECK = '1.3.6.1.5.5.7.48.1.5'

/**
 * RSA-2048 (what every client, PKCS#12 bundle and forge handles) or ECDSA
 * P-256 (a TLS server signs each handshake with its key: P-256 costs a
 * fraction of RSA-2048's CPU), from Node's native generator.
 */
export function generateKeyPair (kind: 'rsa' | 'ec' = 'rsa'): KeyPairPem {
  if (kind === 'ec') {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    return {
      privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString()
    }
  }
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString()
  }
}

/** A positive 126-bit random serial (RFC 5280 4.1.2.2: at most 20 octets, non-negative). */
export function randomSerial (): string {
  return serialFrom(randomBytes(16))
}

/**
 * forge writes the serial's octets as the INTEGER's content unchanged, so the
 * first octet must make a minimal DER encoding: high bit clear (non-negative)
 * and not zero. A leading zero followed by an octet below 0x80 is a padding
 * OpenSSL refuses ("illegal padding"): one certificate in 256 could not be
 * loaded when the first octet was only masked with 0x7f.
 */
export function serialFrom (random: Buffer): string {
  const bytes = Buffer.from(random)
  bytes[0] = (bytes[0] & 0x3f) | 0x40
  return bytes.toString('hex').toUpperCase()
}

/**
 * Signs a certificate: a CA's signer (the key stays inside it) issues it, a
 * KeySigner without a certificate signs its own (a self-signed root).
 */
export async function buildCertificate (spec: CertificateSpec, signer: CaSigner | KeySigner): Promise<string> {
  const issuerCertPem = 'certPem' in signer ? signer.certPem : undefined
  const tbs = tbsCertificate(spec, issuerCertPem, signer.signatureOid)
  return toPem(await signStructure(tbs, signer), 'CERTIFICATE')
}

/**
 * forge assembles the TBSCertificate; the subject's real SubjectPublicKeyInfo
 * (RSA, ECDSA or Ed25519) replaces the placeholder forge needs, and the
 * issuer's subject Name is copied as encoded there, so that certificates are
 * not limited to RSA keys or RSA issuers. Without an issuer it is self-signed.
 */
export function tbsCertificate (spec: CertificateSpec, issuerCertPem: string | undefined, signatureOid: string): forge.asn1.Asn1 {
  const cert = forge.pki.createCertificate()
  cert.publicKey = forgePlaceholderKey()
  cert.serialNumber = randomSerial()
  cert.validity.notBefore = spec.notBefore
  cert.validity.notAfter = spec.notAfter
  cert.setSubject(spec.subject.map(a => ({ shortName: a.shortName, value: a.value })))
  cert.setIssuer(cert.subject.attributes)
  const ski = subjectKeyIdentifier(readKey(spec.publicKeyPem))
  cert.setExtensions(extensionsFor(spec, ski, issuerCertPem === undefined ? ski : authorityKeyIdentifierFor(issuerCertPem)))
  cert.siginfo.algorithmOid = signatureOid
  const tbs = (forge.pki as unknown as { getTBSCertificate: (c: forge.pki.Certificate) => forge.asn1.Asn1 }).getTBSCertificate(cert)
  const fields = tbs.value as forge.asn1.Asn1[]
  // TBSCertificate: [0] version, serial, signature, issuer, validity, subject, subjectPublicKeyInfo, [3] extensions
  fields[2] = algorithmIdentifier(signatureOid)
  if (issuerCertPem !== undefined) fields[3] = issuerName(issuerCertPem)
  fields[6] = spkiAsn1(readKey(spec.publicKeyPem))
  return tbs
}

/**
 * The keyIdentifier of what a CA signs is the CA's own subjectKeyIdentifier
 * as its certificate carries it (RFC 5280 4.2.1.1), so that chain building
 * and CRL lookup match even for a CA made before key identifiers were
 * computed right; computed from its key only when the CA has none.
 */
export function authorityKeyIdentifierFor (issuerCertPem: string): Buffer {
  const ski = inspectCertificate(issuerCertPem).subjectKeyIdentifier
  return ski === undefined ? subjectKeyIdentifier(readKey(issuerCertPem)) : Buffer.from(ski, 'hex')
}

function issuerName (issuerCertPem: string): forge.asn1.Asn1 {
  try {
    return subjectNameAsn1(issuerCertPem)
  } catch (err) {
    throw new CertsError('CERTS_ERR_CERT_UNPARSABLE', 'the issuer certificate could not be decoded', { cause: err })
  }
}

function extensionsFor (spec: CertificateSpec, ski: Buffer, aki: Buffer): any[] {
  const { asn1 } = forge
  const extensions: any[] = []
  if (spec.basicConstraints !== undefined) {
    extensions.push({ name: 'basicConstraints', critical: true, ...spec.basicConstraints })
  }
  if (spec.keyUsage !== undefined) {
    extensions.push({ name: 'keyUsage', critical: true, ...spec.keyUsage })
  }
  if (spec.extKeyUsage !== undefined) {
    const { ocspSigning, ...usages } = spec.extKeyUsage
    // forge names no id-kp-OCSPSigning; it takes an OID as the key.
    extensions.push({ name: 'extKeyUsage', ...usages, ...(ocspSigning === true ? { [OID_OCSP_SIGNING]: true } : {}) })
  }
  if (spec.altNames !== undefined && spec.altNames.length > 0) {
    extensions.push({
      name: 'subjectAltName',
      altNames: spec.altNames.map(n => n.type === 7 ? { type: 7, ip: n.value } : { type: n.type, value: n.value })
    })
  }
  if (spec.crlUrl !== undefined) {
    extensions.push({ name: 'cRLDistributionPoints', altNames: [{ type: 6, value: spec.crlUrl }] })
  }
  if (spec.ocspUrl !== undefined) {
    // AuthorityInfoAccessSyntax ::= SEQUENCE OF AccessDescription { accessMethod OID, accessLocation GeneralName ([6] URI) }
    extensions.push({
      id: OID_AUTHORITY_INFO_ACCESS,
      value: asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
        asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(OID_AD_OCSP).getBytes()),
        asn1.create(asn1.Class.CONTEXT_SPECIFIC, 6, false, spec.ocspUrl)
      ])])
    })
  }
  if (spec.ocspNoCheck === true) {
    extensions.push({ id: OID_OCSP_NOCHECK, value: asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, '') })
  }
  extensions.push({ name: 'subjectKeyIdentifier', value: asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, ski.toString('binary')) })
  extensions.push({
    name: 'authorityKeyIdentifier',
    value: asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, false, aki.toString('binary'))])
  })
  return extensions
}

/** A key (or a certificate's public key) in a form Node reads; a refusal names the bad input. */
function readKey (pem: string): string {
  try {
    createPublicKey(pem)
    return pem
  } catch (err) {
    throw new CertsError('CERTS_ERR_KEY_UNPARSABLE', 'a key could not be decoded', { cause: err })
  }
}
