/**
 * Errors of the PKI. Callers branch on `code`, never on the message; the admin
 * API maps each code to an HTTP status (admin-api/http-errors.ts), and its own
 * refusals are AdminErrorCode (admin-api/errors.ts).
 *
 * Organisations
 * CERTS_ERR_ORG_INVALID            the id is not a lowercase DNS label
 * CERTS_ERR_ORG_EXISTS             the organisation is already registered
 * CERTS_ERR_ORG_NOT_FOUND          no such organisation
 * CERTS_ERR_LIMIT_INVALID          an organisation limit that is not a whole number from 1 to 1,000,000,000 (or none), or no limit named
 * Certificates and keys handed in
 * CERTS_ERR_CERT_UNPARSABLE        a certificate could not be decoded (PEM or DER)
 * CERTS_ERR_MULTIPLE_CERTS         a file that must hold one certificate holds several
 * CERTS_ERR_CERT_EXPIRED           notAfter has passed
 * CERTS_ERR_CERT_NOT_YET_VALID     notBefore is still ahead
 * CERTS_ERR_KEY_UNPARSABLE         a private key could not be decoded
 * CERTS_ERR_KEY_PASSPHRASE         the key is encrypted and the passphrase is missing or wrong
 * CERTS_ERR_KEY_MISMATCH           the certificate does not belong to the key
 * CERTS_ERR_KEY_UNSUPPORTED        a key type mqgate cannot use there (a CSR's unknown algorithm or curve, a non-RSA key for PKCS#12)
 * CERTS_ERR_KEY_TOO_SMALL          a CSR's RSA key below 2048 bits
 * CAs and CRLs
 * CERTS_ERR_CA_NOT_FOUND           no such CA in the organisation
 * CERTS_ERR_CA_EXISTS              the same CA certificate is already registered
 * CERTS_ERR_NOT_A_CA               basicConstraints CA:TRUE is missing
 * CERTS_ERR_CA_NO_KEY_CERT_SIGN    keyUsage is present without keyCertSign
 * CERTS_ERR_CA_MANAGED             the managed CA cannot be removed, disabled or given a CRL (revoke its certificates instead)
 * CERTS_ERR_CRL_UNPARSABLE         a CRL could not be decoded
 * CERTS_ERR_CRL_SIGNATURE          the CRL is not signed by that CA
 * CERTS_ERR_CRL_EXPIRED            the CRL's nextUpdate has passed: a fresher one is due from the CA
 * CERTS_ERR_CRL_ISSUER             the CRL's issuer is not the CA's subject
 * CRLs fetched from a distribution point (`ca crl-source`)
 * CERTS_ERR_CRL_SOURCE_INVALID     not an http(s) URL, an interval outside 1 s - 7 days, or no http(s) CRL distribution point in the certificate
 * CERTS_ERR_CRL_FETCH_SCHEME       a URL (or a redirect) to another scheme than http: or https: (file:, ftp:, ldap:)
 * CERTS_ERR_CRL_FETCH_NOT_ALLOWED  the host or every address it resolves to is outside MQGATE_CRL_FETCH_ALLOW
 * CERTS_ERR_CRL_FETCH_REDIRECTS    more redirects than allowed (3)
 * CERTS_ERR_CRL_FETCH_TOO_LARGE    the answer is larger than allowed (10 MiB)
 * CERTS_ERR_CRL_FETCH_TIMEOUT      no complete answer in time (10 s)
 * CERTS_ERR_CRL_FETCH_STATUS       an HTTP status other than 200 (or a redirect)
 * CERTS_ERR_CRL_FETCH_FAILED       the server could not be reached (DNS, connection, TLS)
 * OCSP (ocsp/: the managed CAs' responder)
 * CERTS_ERR_OCSP_MALFORMED         an OCSP request that cannot be decoded, asks about no or too many certificates, or has a nonce outside 1-32 octets
 * CERTS_ERR_OCSP_NO_SIGNER         the managed CA has no usable delegated OCSP signer and none could be issued
 * CA uploads (what an operator's CA file must not be)
 * CERTS_ERR_CA_KEY_INCLUDED        the file also holds a private key: mqgate needs only the certificate, the key stays offline
 * CERTS_ERR_CA_KEY_TOO_SMALL       an RSA key below 2048 bits
 * CERTS_ERR_CA_CURVE_UNSUPPORTED   an EC key on a curve other than P-256, P-384 or P-521
 * CERTS_ERR_CA_SIGNATURE_WEAK      signed with MD2, MD4, MD5 or SHA-1
 * CERTS_ERR_CA_IN_OTHER_ORG        the same CA (subject and key) is trusted by another organisation and `shared` was not given
 * Server certificates
 * CERTS_ERR_SERVER_CERT_NOT_FOUND  no such server certificate
 * CERTS_ERR_SERVER_CERT_IS_CA      a CA certificate uploaded as a server certificate
 * CERTS_ERR_SERVER_NAME            it names neither <org>.messaging.<domain> nor *.messaging.<domain>
 * CERTS_ERR_SERVER_CERT_PENDING    its CSR has not been completed with a certificate yet
 * CERTS_ERR_NO_PENDING_CSR         a certificate without a key matches no pending CSR
 * Client certificates
 * CERTS_ERR_NAME_INVALID           a CN (d:<type>:<id>, g:<type>:<id>, a:<app>) or a SAN name is malformed
 * CERTS_ERR_CSR_UNPARSABLE         a CSR could not be decoded
 * CERTS_ERR_CSR_SIGNATURE          the CSR's self-signature does not verify
 * CERTS_ERR_CSR_CN_MISMATCH        the CSR names another CN than the one requested
 * CERTS_ERR_DAYS_INVALID           validity outside 1-3650 days
 * CERTS_ERR_CERT_NOT_FOUND         no issued certificate with that id, serial or fingerprint
 * Renewal (enrollment/renewal.ts: EST simplereenroll, RFC 7030 4.2.2)
 * CERTS_ERR_RENEW_NOT_ISSUED        the certificate is not a device, gateway or application certificate this organisation's managed CA issued
 * CERTS_ERR_RENEW_REVOKED           the certificate has been revoked
 * CERTS_ERR_RENEW_EXPIRED           the certificate has expired (or is not valid yet)
 * CERTS_ERR_RENEW_ALREADY_REPLACED  the certificate was already renewed and its replacement used (or retired): only the replacement may renew
 * CERTS_ERR_RENEW_RETRIES_EXHAUSTED the certificate got 3 replacements and none was used: no more renewals with it (an operator issues one)
 * CERTS_ERR_RENEW_IN_PROGRESS      another renewal of the same certificate is being issued (or a process died issuing one less than 30 s ago): try again
 * CERTS_ERR_RENEW_TOO_EARLY         the certificate is not in the organisation's renewal window yet (`org renewal --window`)
 * CERTS_ERR_RENEW_SUBJECT_MISMATCH  the CSR's subject is not the certificate's (RFC 7030 4.2.2: the same subject)
 * CERTS_ERR_RENEW_WINDOW_INVALID    a renewal window that is not 1% to 100% (or `any`)
 * Gateways
 * CERTS_ERR_GATEWAY_INVALID        a gateway id outside [A-Za-z0-9._-] (optionally <type>:<id>)
 * CERTS_ERR_ALLOW_INVALID          an --allow entry that is not <type>:<id> or <type>:*
 * Enrollment (enrollment/: EST and, later, MQTT; claims and one-time tokens)
 * CERTS_ERR_CLAIM_INVALID          a claim's name, device types, use limit or lifetime is malformed
 * CERTS_ERR_CLAIM_EXISTS           a claim of that name already exists in the organisation
 * CERTS_ERR_CLAIM_NOT_FOUND        no claim of that name, or the certificate presented is not its claim certificate
 * CERTS_ERR_CLAIM_REVOKED          the claim was revoked (`claim revoke`)
 * CERTS_ERR_CLAIM_EXPIRED          the claim's lifetime (`--expires`) has passed
 * CERTS_ERR_CLAIM_EXHAUSTED        the claim has enrolled as many devices as `--max-uses` allows
 * CERTS_ERR_CLAIM_TYPE_NOT_ALLOWED the CSR names a device type the claim does not list (`--types`)
 * CERTS_ERR_ENROLL_NOT_DEVICE      a claim enrolls device identities (d:<type>:<id>) only
 * CERTS_ERR_ALREADY_ENROLLED       an unrevoked, unexpired certificate of that identity exists (or is being issued right now)
 * CERTS_ERR_IDENTITY_REVOKED       a claim may not enroll an identity an operator revoked (a token, an operator's act, may)
 * CERTS_ERR_TOKEN_INVALID          no enrollment token matches (never issued, malformed, or from another organisation)
 * CERTS_ERR_TOKEN_USED             the enrollment token has already enrolled once
 * CERTS_ERR_TOKEN_EXPIRED          the enrollment token's lifetime (`--ttl`) has passed
 * CERTS_ERR_TOKEN_CN_MISMATCH      the CSR names another identity than the one the token is bound to
 * CERTS_ERR_TOKEN_TTL_INVALID      a token lifetime outside 1 minute - 30 days
 * Storage
 * CERTS_ERR_STORE                  the registry store failed (I/O, Redis)
 * Encryption at rest (at-rest/)
 * CERTS_ERR_KEK_INVALID            a key-encryption key that is not base64 of exactly 32 bytes
 * CERTS_ERR_KEK_MISMATCH           the registry's keys are sealed under a key-encryption key this process does not hold
 * CERTS_ERR_KEY_BLOB_INVALID       a sealed key does not decrypt: altered, or moved from another record
 * CERTS_ERR_STORE_EMPTIED          the store holds no organisation while this process holds some (Redis restarted empty, FLUSHALL): the registry in memory is kept
 * CERTS_ERR_BACKUP_INVALID         a registry backup file that is not one (wrong format or version, unreadable)
 * CERTS_ERR_RESTORE_CONFLICT       a restore would overwrite an organisation the store already holds
 * CA keys in a PKCS#11 token (HSM)
 * CERTS_ERR_HSM_NOT_CONFIGURED     a pkcs11: CA key without MQGATE_PKCS11_MODULE and MQGATE_PKCS11_PIN
 * CERTS_ERR_HSM_URI_INVALID        not an RFC 7512 key URI mqgate can use (token= and object= or id=; no query), or it names several keys
 * CERTS_ERR_HSM_UNAVAILABLE        the module cannot be loaded or no token has that label
 * CERTS_ERR_HSM_PIN                the token refused the PIN (incorrect, locked, malformed)
 * CERTS_ERR_HSM_KEY_NOT_FOUND      the CA's key (or its public half) is not in the token
 * CERTS_ERR_HSM_KEY_IN_USE         another organisation's CA already uses that token key
 * CERTS_ERR_HSM_FAILED             any other PKCS#11 failure (the CKR_ name is in the message)
 */
export type CertsErrorCode =
  | 'CERTS_ERR_ORG_INVALID' | 'CERTS_ERR_ORG_EXISTS' | 'CERTS_ERR_ORG_NOT_FOUND' | 'CERTS_ERR_LIMIT_INVALID'
  | 'CERTS_ERR_CERT_UNPARSABLE' | 'CERTS_ERR_MULTIPLE_CERTS' | 'CERTS_ERR_CERT_EXPIRED' | 'CERTS_ERR_CERT_NOT_YET_VALID'
  | 'CERTS_ERR_KEY_UNPARSABLE' | 'CERTS_ERR_KEY_PASSPHRASE' | 'CERTS_ERR_KEY_MISMATCH' | 'CERTS_ERR_KEY_UNSUPPORTED' | 'CERTS_ERR_KEY_TOO_SMALL'
  | 'CERTS_ERR_CA_NOT_FOUND' | 'CERTS_ERR_CA_EXISTS' | 'CERTS_ERR_NOT_A_CA' | 'CERTS_ERR_CA_NO_KEY_CERT_SIGN' | 'CERTS_ERR_CA_MANAGED'
  | 'CERTS_ERR_CRL_UNPARSABLE' | 'CERTS_ERR_CRL_SIGNATURE' | 'CERTS_ERR_CRL_EXPIRED' | 'CERTS_ERR_CRL_ISSUER'
  | 'CERTS_ERR_CRL_SOURCE_INVALID' | 'CERTS_ERR_CRL_FETCH_SCHEME' | 'CERTS_ERR_CRL_FETCH_NOT_ALLOWED' | 'CERTS_ERR_CRL_FETCH_REDIRECTS'
  | 'CERTS_ERR_CRL_FETCH_TOO_LARGE' | 'CERTS_ERR_CRL_FETCH_TIMEOUT' | 'CERTS_ERR_CRL_FETCH_STATUS' | 'CERTS_ERR_CRL_FETCH_FAILED'
  | 'CERTS_ERR_OCSP_MALFORMED' | 'CERTS_ERR_OCSP_NO_SIGNER'
  | 'CERTS_ERR_CA_KEY_INCLUDED' | 'CERTS_ERR_CA_KEY_TOO_SMALL' | 'CERTS_ERR_CA_CURVE_UNSUPPORTED' | 'CERTS_ERR_CA_SIGNATURE_WEAK' | 'CERTS_ERR_CA_IN_OTHER_ORG'
  | 'CERTS_ERR_SERVER_CERT_NOT_FOUND' | 'CERTS_ERR_SERVER_CERT_IS_CA' | 'CERTS_ERR_SERVER_NAME' | 'CERTS_ERR_SERVER_CERT_PENDING' | 'CERTS_ERR_NO_PENDING_CSR'
  | 'CERTS_ERR_NAME_INVALID' | 'CERTS_ERR_CSR_UNPARSABLE' | 'CERTS_ERR_CSR_SIGNATURE' | 'CERTS_ERR_CSR_CN_MISMATCH' | 'CERTS_ERR_DAYS_INVALID'
  | 'CERTS_ERR_CERT_NOT_FOUND'
  | 'CERTS_ERR_RENEW_NOT_ISSUED' | 'CERTS_ERR_RENEW_REVOKED' | 'CERTS_ERR_RENEW_EXPIRED' | 'CERTS_ERR_RENEW_ALREADY_REPLACED' | 'CERTS_ERR_RENEW_IN_PROGRESS'
  | 'CERTS_ERR_RENEW_RETRIES_EXHAUSTED'
  | 'CERTS_ERR_RENEW_TOO_EARLY' | 'CERTS_ERR_RENEW_SUBJECT_MISMATCH' | 'CERTS_ERR_RENEW_WINDOW_INVALID'
  | 'CERTS_ERR_GATEWAY_INVALID' | 'CERTS_ERR_ALLOW_INVALID'
  | 'CERTS_ERR_CLAIM_INVALID' | 'CERTS_ERR_CLAIM_EXISTS' | 'CERTS_ERR_CLAIM_NOT_FOUND' | 'CERTS_ERR_CLAIM_REVOKED' | 'CERTS_ERR_CLAIM_EXPIRED'
  | 'CERTS_ERR_CLAIM_EXHAUSTED' | 'CERTS_ERR_CLAIM_TYPE_NOT_ALLOWED' | 'CERTS_ERR_ENROLL_NOT_DEVICE' | 'CERTS_ERR_ALREADY_ENROLLED' | 'CERTS_ERR_IDENTITY_REVOKED'
  | 'CERTS_ERR_TOKEN_INVALID' | 'CERTS_ERR_TOKEN_USED' | 'CERTS_ERR_TOKEN_EXPIRED' | 'CERTS_ERR_TOKEN_CN_MISMATCH' | 'CERTS_ERR_TOKEN_TTL_INVALID'
  | 'CERTS_ERR_STORE' | 'CERTS_ERR_STORE_EMPTIED' | 'CERTS_ERR_BACKUP_INVALID' | 'CERTS_ERR_RESTORE_CONFLICT'
  | 'CERTS_ERR_KEK_INVALID' | 'CERTS_ERR_KEK_MISMATCH' | 'CERTS_ERR_KEY_BLOB_INVALID'
  | 'CERTS_ERR_HSM_NOT_CONFIGURED' | 'CERTS_ERR_HSM_URI_INVALID' | 'CERTS_ERR_HSM_UNAVAILABLE' | 'CERTS_ERR_HSM_PIN' | 'CERTS_ERR_HSM_KEY_NOT_FOUND'
  | 'CERTS_ERR_HSM_KEY_IN_USE' | 'CERTS_ERR_HSM_FAILED'

export class CertsError extends Error {
  override readonly name = 'CertsError'
  /** What the gateway's log line of the refusal may say and its message may not (another organisation's id, say). */
  readonly logFields?: Readonly<Record<string, unknown>>

  constructor (readonly code: CertsErrorCode, message: string, options?: ErrorOptions & { logFields?: Readonly<Record<string, unknown>> }) {
    super(message, options)
    if (options?.logFields !== undefined) this.logFields = options.logFields
  }
}

export function isCertsError (err: unknown, code?: CertsErrorCode): err is CertsError {
  return err instanceof CertsError && (code === undefined || err.code === code)
}
