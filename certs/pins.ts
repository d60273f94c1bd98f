import { createHash, createPublicKey } from 'node:crypto'
import { CertsError } from './errors.js'

/**
 * The SHA-256 SPKI pin of a certificate's or a key's public key, base64: the
 * value HPKP (RFC 7469) defined and mobile pinning libraries (TrustKit,
 * OkHttp's CertificatePinner as `sha256/<pin>`) take.
 */
export function spkiPin (pem: string): string {
  let spki: Buffer
  try {
    spki = createPublicKey(pem).export({ type: 'spki', format: 'der' })
  } catch (err) {
    throw new CertsError('CERTS_ERR_CERT_UNPARSABLE', 'no public key could be read from the given PEM', { cause: err })
  }
  return createHash('sha256').update(spki).digest('base64')
}
