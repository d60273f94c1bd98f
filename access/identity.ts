import { allowsClientAuth, parseClaimName, parseIdentityName, type CertificateFacts } from '../certs/index.js'
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
  // Not an identity: a claim certificate may only enroll (claimNameFromCertificate), so it is refused here with a code of its own.
  if (name === undefined && parseClaimName(commonName) !== undefined) {
    return refused('BROKER_ERR_CLAIM_ONLY_ENROLLS', 'a claim certificate (c:<name>) may only enroll a device over EST')
  }
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
  const name = nameOfCertificate(facts)
  return name.ok ? parseIdentity(name.value) : name
}

/**
 * The claim a certificate is for (`c:<name>`, design.md "Identity"), by the
 * same rules as identityFromCertificate: what enrollment, and only
 * enrollment, accepts. Any other certificate is refused.
 */
export function claimNameFromCertificate (facts: CertificateFacts): Checked<string> {
  const name = nameOfCertificate(facts)
  if (!name.ok) return name
  const claim = parseClaimName(name.value)
  return claim === undefined ? refused('BROKER_ERR_NOT_A_CLAIM', 'only a claim certificate (c:<name>) enrolls with a client certificate') : allowed(claim)
}

function nameOfCertificate (facts: CertificateFacts): Checked<string> {
  if (facts.isCA) return refused('BROKER_ERR_CERT_IS_CA', 'a CA certificate cannot be used as a client certificate')
  if (!allowsClientAuth(facts)) return refused('BROKER_ERR_CERT_NO_CLIENT_AUTH', 'the certificate\'s extended key usage does not allow client authentication')
  if (facts.subjectHasMultiValuedRdn) return refused('BROKER_ERR_CN_MULTI_VALUED_RDN', 'the subject has a multi-valued RDN')
  const names = facts.subjectCommonNames.length > 0 ? facts.subjectCommonNames : facts.sanEmails
  if (names.length === 0) return refused('BROKER_ERR_CN_MISSING', 'the certificate names no identity (no CN, no SAN email)')
  if (names.length > 1) return refused('BROKER_ERR_CN_REPEATED', 'the certificate names several identities')
  return allowed(names[0])
}
