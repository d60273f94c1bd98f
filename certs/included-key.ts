import { CertsError } from './errors.js'

/**
 * A CA file exported from CA software often carries the CA's private key next
 * to its certificate (`openssl pkcs12 -nodes`, a "bundle.pem"). mqgate only
 * needs the certificate to trust the CA's devices; holding the key would let
 * anyone who reads the registry mint devices. So such a file is refused
 * outright rather than having its key silently dropped: the operator learns
 * the key left its offline home and can decide what that means for the CA.
 */

/**
 * Every PEM label of a private key (RFC 7468 §10-11, OpenSSL's traditional
 * `RSA`/`EC`/`DSA` forms, OpenSSH's own). The label is matched, never the key
 * bytes, and nothing of the block is kept or echoed.
 */
const PRIVATE_KEY_LABEL = /-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY-----/

const KEY_KINDS: Readonly<Record<string, string>> = { '': 'PKCS#8', 'ENCRYPTED ': 'encrypted PKCS#8', 'RSA ': 'RSA', 'EC ': 'EC', 'DSA ': 'DSA', 'OPENSSH ': 'OpenSSH' }

/** Throws CERTS_ERR_CA_KEY_INCLUDED when the upload holds a private key block. */
export function refuseIncludedPrivateKey (input: string | Buffer): void {
  const text = typeof input === 'string' ? input : input.toString('latin1')
  const found = PRIVATE_KEY_LABEL.exec(text)
  if (found === null) return
  // Named without its PEM label, so log searches for leaked keys stay meaningful.
  const kind = KEY_KINDS[found[1]] ?? found[1].trim().toLowerCase()
  throw new CertsError('CERTS_ERR_CA_KEY_INCLUDED',
    `the file also holds a private key (${kind}): upload the CA certificate alone ` +
    '(openssl x509 -in <file> -out ca.crt) and keep the CA\'s private key offline; nothing was stored')
}
