/**
 * Errors of the PKI. Callers branch on `code`, never on the message.
 *
 * CERTS_ERR_ORG_INVALID        an organisation id is not a lowercase DNS label
 * CERTS_ERR_ORG_EXISTS         the organisation is already registered
 * CERTS_ERR_ORG_NOT_FOUND      no such organisation
 * CERTS_ERR_CERT_UNPARSABLE    a certificate could not be decoded (PEM or DER)
 * CERTS_ERR_KEY_UNPARSABLE     a private key could not be decoded
 * CERTS_ERR_CA_NOT_FOUND       no such CA in the organisation
 * CERTS_ERR_CA_EXISTS          the same CA certificate is already registered
 * CERTS_ERR_NOT_A_CA           an uploaded CA lacks basicConstraints CA:TRUE
 * CERTS_ERR_SERVER_CERT_NOT_FOUND  no such server certificate
 * CERTS_ERR_KEY_MISMATCH       a certificate does not belong to the given key
 * CERTS_ERR_NAME_INVALID       a CN or SAN given for issuance is malformed
 * CERTS_ERR_STORE              the registry store failed (I/O, Redis)
 */
export type CertsErrorCode =
  | 'CERTS_ERR_ORG_INVALID'
  | 'CERTS_ERR_ORG_EXISTS'
  | 'CERTS_ERR_ORG_NOT_FOUND'
  | 'CERTS_ERR_CERT_UNPARSABLE'
  | 'CERTS_ERR_KEY_UNPARSABLE'
  | 'CERTS_ERR_CA_NOT_FOUND'
  | 'CERTS_ERR_CA_EXISTS'
  | 'CERTS_ERR_NOT_A_CA'
  | 'CERTS_ERR_SERVER_CERT_NOT_FOUND'
  | 'CERTS_ERR_KEY_MISMATCH'
  | 'CERTS_ERR_NAME_INVALID'
  | 'CERTS_ERR_STORE'

export class CertsError extends Error {
  override readonly name = 'CertsError'

  constructor (readonly code: CertsErrorCode, message: string, options?: ErrorOptions) {
    super(message, options)
  }
}

export function isCertsError (err: unknown, code?: CertsErrorCode): err is CertsError {
  return err instanceof CertsError && (code === undefined || err.code === code)
}
