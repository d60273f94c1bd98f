import { randomBytes, generateKeyPairSync } from 'node:crypto'
import forge from 'node-forge'
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
  /** The signer; omitted for a self-signed certificate, which signs with `selfKeyPem`. */
  readonly issuer?: { readonly certPem: string, readonly keyPem: string }
  readonly selfKeyPem?: string
  readonly notBefore: Date
  readonly notAfter: Date
  /** Absent extension when undefined. */
  readonly basicConstraints?: { readonly cA: boolean, readonly pathLenConstraint?: number }
  readonly keyUsage?: Readonly<Record<'digitalSignature' | 'keyEncipherment' | 'keyCertSign' | 'cRLSign', boolean>>
  readonly extKeyUsage?: { readonly serverAuth?: boolean, readonly clientAuth?: boolean }
  readonly altNames?: readonly AltName[]
  /** Where relying parties fetch the issuer's CRL (RFC 5280 4.2.1.13). */
  readonly crlUrl?: string
}

/** RSA-2048 from Node's native generator (node-forge would delegate to it too; its pure-JS path takes seconds). */
export function generateKeyPair (): KeyPairPem {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString()
  }
}

/** A positive 127-bit serial (RFC 5280 4.1.2.2 asks for at most 20 octets, non-negative). */
export function randomSerial (): string {
  const bytes = randomBytes(16)
  bytes[0] &= 0x7f
  return bytes.toString('hex').toUpperCase()
}

export function buildCertificate (spec: CertificateSpec): string {
  const cert = forge.pki.createCertificate()
  cert.publicKey = readPublicKey(spec.publicKeyPem)
  cert.serialNumber = randomSerial()
  cert.validity.notBefore = spec.notBefore
  cert.validity.notAfter = spec.notAfter
  cert.setSubject(spec.subject.map(a => ({ shortName: a.shortName, value: a.value })))
  const issuerCert = spec.issuer === undefined ? undefined : readCertificate(spec.issuer.certPem)
  cert.setIssuer(issuerCert === undefined ? cert.subject.attributes : issuerCert.subject.attributes)
  cert.setExtensions(extensionsFor(spec, cert, issuerCert))
  const signingKeyPem = spec.issuer?.keyPem ?? spec.selfKeyPem
  if (signingKeyPem === undefined) throw new Error('buildCertificate: neither an issuer nor a self-signing key')
  cert.sign(readPrivateKey(signingKeyPem), forge.md.sha256.create())
  return forge.pki.certificateToPem(cert)
}

function extensionsFor (spec: CertificateSpec, cert: forge.pki.Certificate, issuerCert?: forge.pki.Certificate): any[] {
  const extensions: any[] = []
  if (spec.basicConstraints !== undefined) {
    extensions.push({ name: 'basicConstraints', critical: true, ...spec.basicConstraints })
  }
  if (spec.keyUsage !== undefined) {
    extensions.push({ name: 'keyUsage', critical: true, ...spec.keyUsage })
  }
  if (spec.extKeyUsage !== undefined) {
    extensions.push({ name: 'extKeyUsage', ...spec.extKeyUsage })
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
  extensions.push({ name: 'subjectKeyIdentifier' })
  const authority = issuerCert ?? cert
  extensions.push({
    name: 'authorityKeyIdentifier',
    keyIdentifier: authority.generateSubjectKeyIdentifier().getBytes()
  })
  return extensions
}

export function readCertificate (pem: string): forge.pki.Certificate {
  try {
    return forge.pki.certificateFromPem(pem)
  } catch (err) {
    throw new CertsError('CERTS_ERR_CERT_UNPARSABLE', 'the certificate could not be decoded', { cause: err })
  }
}

function readPrivateKey (pem: string): forge.pki.rsa.PrivateKey {
  try {
    return forge.pki.privateKeyFromPem(pem)
  } catch (err) {
    throw new CertsError('CERTS_ERR_KEY_UNPARSABLE', 'the private key could not be decoded', { cause: err })
  }
}

function readPublicKey (pem: string): forge.pki.rsa.PublicKey {
  try {
    return forge.pki.publicKeyFromPem(pem) as forge.pki.rsa.PublicKey
  } catch (err) {
    throw new CertsError('CERTS_ERR_KEY_UNPARSABLE', 'the public key could not be decoded', { cause: err })
  }
}
