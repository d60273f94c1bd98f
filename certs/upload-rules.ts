import { mustBeSignedStrongly, mustHaveStrongKey } from './ca-strength-rules.js'
import { CertsError } from './errors.js'
import type { CertificateFacts } from './certificate-facts.js'

/**
 * The checks an uploaded certificate must pass, one small rule each (the
 * smallstep validator shape): a rule returns the refusal, or nothing.
 */
export type UploadRule = (facts: CertificateFacts, now: Date) => CertsError | undefined

export const mustBeCa: UploadRule = facts =>
  facts.isCA ? undefined : new CertsError('CERTS_ERR_NOT_A_CA', 'the certificate is not a CA: basicConstraints CA:TRUE is missing')

/** RFC 5280 4.2.1.3: a CA that signs certificates has keyCertSign when keyUsage is present. */
export const mustMaySignCertificates: UploadRule = facts =>
  facts.keyUsage === undefined || facts.keyUsage.includes('keyCertSign')
    ? undefined
    : new CertsError('CERTS_ERR_CA_NO_KEY_CERT_SIGN', 'the CA\'s keyUsage does not include keyCertSign')

export const mustBeValidNow: UploadRule = (facts, now) => {
  if (now < facts.notBefore) return new CertsError('CERTS_ERR_CERT_NOT_YET_VALID', `the certificate is not valid before ${facts.notBefore.toISOString()}`)
  if (now > facts.notAfter) return new CertsError('CERTS_ERR_CERT_EXPIRED', `the certificate expired on ${facts.notAfter.toISOString()}`)
  return undefined
}

export const mustNotBeCa: UploadRule = facts =>
  facts.isCA ? new CertsError('CERTS_ERR_SERVER_CERT_IS_CA', 'a CA certificate cannot serve as a TLS server certificate') : undefined

/** The server certificate must answer `<org>.messaging.<domain>`: by its CN, a DNS SAN, or a wildcard one level up. */
export function mustName (serverName: string): UploadRule {
  const wildcard = '*.' + serverName.slice(serverName.indexOf('.') + 1)
  return facts => {
    const names = [...facts.sanDnsNames, ...facts.subjectCommonNames].map(n => n.toLowerCase())
    return names.includes(serverName) || names.includes(wildcard)
      ? undefined
      : new CertsError('CERTS_ERR_SERVER_NAME', `the certificate must name ${serverName} or ${wildcard} (CN or DNS SAN)`)
  }
}

export const CA_UPLOAD_RULES: readonly UploadRule[] = [mustBeCa, mustMaySignCertificates, mustBeValidNow, mustHaveStrongKey, mustBeSignedStrongly]

export function serverCertRules (serverName: string): readonly UploadRule[] {
  return [mustNotBeCa, mustBeValidNow, mustName(serverName)]
}

/** Runs the rules in order and throws the first refusal. */
export function enforce (rules: readonly UploadRule[], facts: CertificateFacts, now = new Date()): void {
  for (const rule of rules) {
    const refusal = rule(facts, now)
    if (refusal !== undefined) throw refusal
  }
}
