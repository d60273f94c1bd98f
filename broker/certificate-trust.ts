import { X509Certificate } from 'node:crypto'
import { isWithinValidity, trustedCasOf, type CaRecord, type CertificateFacts, type OrgState } from '../certs/index.js'
import { allowed, refused, type BrokerErrorCode, type Checked } from './errors.js'

/**
 * Re-checks a client certificate against the organisation it connected to, at
 * every CONNECT. The handshake already verified it, but a resumed TLS session
 * carries the peer certificate of its first handshake (possibly under another
 * organisation's SNI, or before its CA was disabled), so trust is decided here
 * from the registry as it is now.
 */
export function checkCertificateTrust (
  leaf: CertificateFacts,
  presentedChain: readonly X509Certificate[],
  org: OrgState,
  now: Date
): Checked<CaRecord> {
  if (now < leaf.notBefore) return refused('BROKER_ERR_CERT_NOT_YET_VALID', 'the certificate is not valid yet')
  if (now > leaf.notAfter) return refused('BROKER_ERR_CERT_EXPIRED', 'the certificate has expired')
  const anchors = trustAnchorsOf(org)
  let current: X509Certificate = leaf.x509
  // Bounded walk: leaf, then at most three presented intermediates.
  for (let depth = 0; depth < 4; depth++) {
    const anchor = anchors.find(a => issued(a.x509, current))
    if (anchor !== undefined) {
      return isWithinValidity(anchor.facts, now) ? allowed(anchor.record) : refused('BROKER_ERR_CERT_UNTRUSTED', 'the issuing CA has expired')
    }
    const next = presentedChain.find(c => c !== current && c.ca && issued(c, current) && withinValidity(c, now))
    if (next === undefined) break
    current = next
  }
  return refused('BROKER_ERR_CERT_UNTRUSTED', 'the certificate does not chain to an active CA of this organisation')
}

function issued (issuer: X509Certificate, subject: X509Certificate): boolean {
  return subject.checkIssued(issuer) && subject.verify(issuer.publicKey)
}

function withinValidity (cert: X509Certificate, now: Date): boolean {
  return new Date(cert.validFrom) <= now && now <= new Date(cert.validTo)
}

interface Anchor {
  readonly record: CaRecord
  readonly x509: X509Certificate
  readonly facts: Pick<CertificateFacts, 'notBefore' | 'notAfter'>
}

// Keyed by the registry's immutable snapshot: a change yields a new OrgState, so a stale entry is never read.
const anchorCache = new WeakMap<OrgState, Anchor[]>()

function trustAnchorsOf (org: OrgState): Anchor[] {
  let anchors = anchorCache.get(org)
  if (anchors === undefined) {
    anchors = trustedCasOf(org).map(record => {
      const x509 = new X509Certificate(record.certPem)
      return { record, x509, facts: { notBefore: new Date(x509.validFrom), notAfter: new Date(x509.validTo) } }
    })
    anchorCache.set(org, anchors)
  }
  return anchors
}

/** Maps Node's `authorizationError` (an OpenSSL verify code) to the broker's reason code. */
export function codeForVerifyError (verifyError: string | Error | null | undefined): BrokerErrorCode {
  const text = verifyError instanceof Error ? (verifyError as NodeJS.ErrnoException).code ?? verifyError.message : String(verifyError)
  if (text.includes('CERT_HAS_EXPIRED')) return 'BROKER_ERR_CERT_EXPIRED'
  if (text.includes('CERT_NOT_YET_VALID')) return 'BROKER_ERR_CERT_NOT_YET_VALID'
  if (text.includes('INVALID_PURPOSE')) return 'BROKER_ERR_CERT_PURPOSE'
  return 'BROKER_ERR_CERT_UNTRUSTED'
}
