import { createPrivateKey } from 'node:crypto'
import { CertsError } from './errors.js'

/**
 * An operator's private key, PEM (PKCS#1, PKCS#8, SEC1, encrypted or not), as
 * unencrypted PKCS#8 PEM for storage. The passphrase is used here and nowhere
 * else: never stored, never logged.
 */
export function readPrivateKey (pem: string, passphrase?: string): string {
  try {
    return createPrivateKey({ key: pem, format: 'pem', ...(passphrase === undefined ? {} : { passphrase }) })
      .export({ type: 'pkcs8', format: 'pem' }).toString()
  } catch (err) {
    if (/ENCRYPTED/.test(pem)) {
      throw new CertsError('CERTS_ERR_KEY_PASSPHRASE', passphrase === undefined ? 'the key is encrypted: give its passphrase' : 'the passphrase does not decrypt the key')
    }
    throw new CertsError('CERTS_ERR_KEY_UNPARSABLE', 'the private key could not be decoded', { cause: err })
  }
}
