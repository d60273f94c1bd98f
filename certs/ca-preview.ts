import { refuseIncludedPrivateKey } from './included-key.js'
import { readSingleCertificate } from './certificate-input.js'
import { sameCaElsewhere, refuseUnacknowledgedSharing } from './ca-sharing.js'
import type { CertificateFacts } from './certificate-facts.js'
import { CertsError, type CertsErrorCode } from './errors.js'
import type { OrgRegistry } from './org-registry.js'
import { CA_UPLOAD_RULES } from './upload-rules.js'

/** One reason `ca add` would refuse the file, as the CLI would print it. */
export interface PreviewRefusal {
  readonly code: CertsErrorCode
  readonly message: string
}

/** What an operator sees of a CA file before saving it (the console's preview, `POST /orgs/:org/cas/preview`). */
export interface CaPreview {
  readonly subject: string
  readonly issuer: string
  readonly serial: string
  readonly notBefore: Date
  readonly notAfter: Date
  /** 'rsa 2048', 'ec P-256', 'ed25519'. */
  readonly key: string
  readonly fingerprint: string
  readonly isCA: boolean
  readonly selfSigned: boolean
  /** Every refusal `addCa` would meet, in its order (it stops at the first); empty when saving would succeed. */
  readonly refusals: readonly PreviewRefusal[]
}

/**
 * The checks of addCa (ca-admin.ts) on a file, without saving: the same rules
 * (CA_UPLOAD_RULES), the same duplicate and sharing checks. A file that holds
 * a private key, or no readable certificate, is refused outright with addCa's
 * own error (CERTS_ERR_CA_KEY_INCLUDED, ...): nothing of it is shown back.
 */
export function previewCa (registry: OrgRegistry, orgId: string, certificate: string | Buffer, shared: boolean, now = new Date()): CaPreview {
  const state = registry.require(orgId)
  refuseIncludedPrivateKey(certificate)
  const facts = readSingleCertificate(certificate)
  const refusals: PreviewRefusal[] = []
  for (const rule of CA_UPLOAD_RULES) {
    const refusal = rule(facts, now)
    if (refusal !== undefined) refusals.push({ code: refusal.code, message: refusal.message })
  }
  if (state.cas.some(c => c.fingerprint === facts.fingerprint)) refusals.push({ code: 'CERTS_ERR_CA_EXISTS', message: 'this CA is already registered for the organisation' })
  try {
    refuseUnacknowledgedSharing(sameCaElsewhere(registry, orgId, facts), shared)
  } catch (err) {
    if (!(err instanceof CertsError)) throw err
    refusals.push({ code: err.code, message: err.message })
  }
  return {
    subject: facts.subject,
    issuer: facts.issuer,
    serial: facts.serial,
    notBefore: facts.notBefore,
    notAfter: facts.notAfter,
    key: keyDescription(facts),
    fingerprint: facts.fingerprint,
    isCA: facts.isCA,
    selfSigned: facts.subject === facts.issuer,
    refusals
  }
}

const CURVE_NAMES: Readonly<Record<string, string>> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' }

function keyDescription (facts: CertificateFacts): string {
  const key = facts.x509.publicKey
  const type = key.asymmetricKeyType ?? 'unknown'
  const details = key.asymmetricKeyDetails
  if (details?.modulusLength !== undefined) return `${type} ${details.modulusLength}`
  if (details?.namedCurve !== undefined) return `${type} ${CURVE_NAMES[details.namedCurve] ?? details.namedCurve}`
  return type
}
