import { createPublicKey } from 'node:crypto'
import { CertsError } from './errors.js'

/**
 * The floor for a requester's key (a CSR's), the one an uploaded CA meets
 * (ca-strength-rules.ts): CA/Browser Forum Baseline Requirements §6.1.5
 * (RSA ≥ 2048 bits; ECDSA on P-256, P-384, P-521) and EdDSA (RFC 8410).
 * Since EST and MQTT enrollment let a device choose its own key, without it
 * the CA would sign a 512-bit RSA key that anyone can factor and then
 * impersonate the identity with.
 */

const MIN_RSA_BITS = 2048
const ALLOWED_CURVES = new Set(['prime256v1', 'secp384r1', 'secp521r1'])
const FIXED_STRENGTH = new Set(['ed25519', 'ed448'])

/** Throws CERTS_ERR_KEY_TOO_SMALL or CERTS_ERR_KEY_UNSUPPORTED for a key the CA must not certify. */
export function checkRequestedKey (publicKeyPem: string): void {
  const key = createPublicKey(publicKeyPem)
  const type = key.asymmetricKeyType ?? 'unknown'
  if (type === 'rsa' || type === 'rsa-pss') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0
    if (bits < MIN_RSA_BITS) throw new CertsError('CERTS_ERR_KEY_TOO_SMALL', `the CSR's RSA key has ${bits} bits; at least ${MIN_RSA_BITS} are required`)
    return
  }
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? 'unknown'
    if (!ALLOWED_CURVES.has(curve)) throw new CertsError('CERTS_ERR_KEY_UNSUPPORTED', `the CSR's EC key is on curve ${curve}; only P-256, P-384 and P-521 are accepted`)
    return
  }
  if (!FIXED_STRENGTH.has(type)) throw new CertsError('CERTS_ERR_KEY_UNSUPPORTED', `the CSR's key type ${type} is not accepted (RSA, ECDSA or EdDSA)`)
}
