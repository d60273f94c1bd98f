import forge from 'node-forge'
import { CertsError } from './errors.js'

/**
 * A PKCS#12 bundle (key, certificate, CA) for a mobile app to import, with
 * node-forge. 3DES/SHA-1 PBE is what iOS's SecPKCS12Import and Android's
 * KeyStore have read for longest; OpenSSL 3 reads it without the legacy provider.
 */
export function toPkcs12 (keyPem: string, certPem: string, caPem: string, password: string, friendlyName: string): Buffer {
  let key: forge.pki.PrivateKey
  try {
    key = forge.pki.privateKeyFromPem(keyPem)
  } catch (err) {
    throw new CertsError('CERTS_ERR_KEY_UNSUPPORTED', 'node-forge bundles RSA keys only', { cause: err })
  }
  const chain = [forge.pki.certificateFromPem(certPem), forge.pki.certificateFromPem(caPem)]
  const asn1 = forge.pkcs12.toPkcs12Asn1(key, chain, password, { algorithm: '3des', friendlyName, generateLocalKeyId: true })
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary')
}
