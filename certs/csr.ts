import { isIP } from 'node:net'
import forge from 'node-forge'
import { CertsError } from './errors.js'

/** Certificate signing requests, with node-forge (which handles RSA keys only). */

/** A CSR for `commonName` with the SANs (DNS names, IPs as iPAddress), signed by the key. */
export function createCsr (keyPem: string, commonName: string, sans: readonly string[]): string {
  const privateKey = rsaPrivateKey(keyPem)
  const csr = forge.pki.createCertificationRequest()
  csr.publicKey = forge.pki.setRsaPublicKey(privateKey.n, privateKey.e)
  csr.setSubject([{ shortName: 'CN', value: commonName }])
  csr.setAttributes([{
    name: 'extensionRequest',
    extensions: [{ name: 'subjectAltName', altNames: sans.map(name => isIP(name) === 0 ? { type: 2, value: name } : { type: 7, ip: name }) }]
  }])
  csr.sign(privateKey, forge.md.sha256.create())
  return forge.pki.certificationRequestToPem(csr)
}

export interface CsrFacts {
  readonly publicKeyPem: string
  /** The CN the requester put in the subject, if any. */
  readonly commonName?: string
}

/** Decodes a CSR and checks its self-signature (proof that the requester holds the key). */
export function readCsr (pem: string): CsrFacts {
  let csr: forge.pki.CertificateSigningRequest
  try {
    csr = forge.pki.certificationRequestFromPem(pem)
  } catch (err) {
    if (/not RSA/i.test(String((err as Error)?.message))) {
      throw new CertsError('CERTS_ERR_KEY_UNSUPPORTED', 'only CSRs for RSA keys can be signed (node-forge reads no other key type)', { cause: err })
    }
    throw new CertsError('CERTS_ERR_CSR_UNPARSABLE', 'the CSR could not be decoded', { cause: err })
  }
  if (!signatureVerifies(csr)) throw new CertsError('CERTS_ERR_CSR_SIGNATURE', 'the CSR\'s signature does not verify')
  const cn = csr.subject.getField('CN')
  return {
    publicKeyPem: forge.pki.publicKeyToPem(csr.publicKey as forge.pki.PublicKey),
    ...(cn === null ? {} : { commonName: Buffer.from(String(cn.value), 'binary').toString('utf8') })
  }
}

/** forge throws on a malformed signature block instead of returning false. */
function signatureVerifies (csr: forge.pki.CertificateSigningRequest): boolean {
  try {
    return csr.verify()
  } catch {
    return false
  }
}

function rsaPrivateKey (keyPem: string): forge.pki.rsa.PrivateKey {
  try {
    return forge.pki.privateKeyFromPem(keyPem)
  } catch (err) {
    throw new CertsError('CERTS_ERR_KEY_UNSUPPORTED', 'node-forge signs CSRs with RSA keys only', { cause: err })
  }
}
