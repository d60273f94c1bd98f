import { allowsClientAuth, parseIdentityName, type CertificateFacts } from '../certs/index.js'
import { allowed, refused, type Checked } from './errors.js'

/**
 * Who is connected, as named by the certificate (design.md, "Identity").
 * The organisation is not part of it: it comes from the SNI name.
 */
export type Identity =
  | { readonly kind: 'device', readonly typeId: string, readonly id: string, readonly commonName: string }
  | { readonly kind: 'gateway', readonly typeId: string, readonly id: string, readonly commonName: string }
  | { readonly kind: 'application', readonly appId: string, readonly commonName: string }

/** Parses `d:<typeId>:<deviceId>`, `g:<typeId>:<gatewayId>` or `a:<appId>`; nothing else. */
export function parseIdentity (commonName: string): Checked<Identity> {
  const name = parseIdentityName(commonName)
  if (name === undefined) {
    return refused('BROKER_ERR_CN_MALFORMED', 'the CN must be d:<type>:<id>, g:<type>:<id> or a:<app>, each name 1-64 characters of A-Z a-z 0-9 . _ -')
  }
  return allowed({ ...name, commonName })
}

/**
 * The identity a client certificate names: its single CN or, when the subject
 * has no CN, its single SAN email entry. Anything ambiguous is refused rather
 * than resolved by picking one, since the identity becomes topic levels.
 */
export function identityFromCertificate (facts: CertificateFacts): Checked<Identity> {
  if (facts.isCA) return refused('BROKER_ERR_CERT_IS_CA', 'a CA certificate cannot be used as a client certificate')
  if (!allowsClientAuth(facts)) return refused('BROKER_ERR_CERT_NO_CLIENT_AUTH', 'the certificate\'s extended key usage does not allow client authentication')
  if (facts.subjectHasMultiValuedRdn) return refused('BROKER_ERR_CN_MULTI_VALUED_RDN', 'the subject has a multi-valued RDN')
  const names = facts.subjectCommonNames.length > 0 ? facts.subjectCommonNames : facts.sanEmails
  if (names.length === 0) return refused('BROKER_ERR_CN_MISSING', 'the certificate names no identity (no CN, no SAN email)')
  if (names.length > 1) return refused('BROKER_ERR_CN_REPEATED', 'the certificate names several identities')
  return parseIdentity(names[0])
}
