import { X509Certificate } from 'node:crypto'
import { CertsError } from './errors.js'
import { inspectCertificate, splitPemCertificates, type CertificateFacts } from './certificate-facts.js'

/**
 * Certificates as operators hand them over: a PEM file (one or several blocks),
 * raw DER bytes, or DER in base64 (how the admin API carries a DER file in JSON).
 */
export function readCertificates (input: string | Buffer): CertificateFacts[] {
  const text = typeof input === 'string' ? input : input.toString('latin1')
  if (text.includes('-----BEGIN')) {
    const blocks = splitPemCertificates(text)
    if (blocks.length === 0) throw new CertsError('CERTS_ERR_CERT_UNPARSABLE', 'the PEM holds no CERTIFICATE block')
    return blocks.map(block => inspectCertificate(block))
  }
  const der = typeof input === 'string' ? Buffer.from(input.trim(), 'base64') : input
  if (der.length === 0) throw new CertsError('CERTS_ERR_CERT_UNPARSABLE', 'the certificate is empty')
  const facts = inspectCertificate(der)
  if (facts.der.length !== der.length) {
    throw new CertsError('CERTS_ERR_MULTIPLE_CERTS', 'the DER data holds more than one certificate (or trailing bytes)')
  }
  return [facts]
}

/** Exactly one certificate; CERTS_ERR_MULTIPLE_CERTS otherwise. */
export function readSingleCertificate (input: string | Buffer): CertificateFacts {
  const certs = readCertificates(input)
  if (certs.length !== 1) throw new CertsError('CERTS_ERR_MULTIPLE_CERTS', `the file holds ${certs.length} certificates; upload one CA at a time`)
  return certs[0]
}

/** PEM of chain certificates, in order, for the TLS server to send after its leaf. */
export function chainPemOf (certs: readonly CertificateFacts[]): string {
  return certs.map(c => new X509Certificate(c.der).toString()).join('')
}
