import { X509Certificate, type KeyObject } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import { isWithinValidity, normalizeSerial, trustedCasOf, type CaRecord, type CertificateFacts, type OrgState } from '../certs/index.js'
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
  /** The intermediates the client sent; read only when the leaf is not an active CA's own (rare, and costly to decode). */
  presentedChain: () => readonly X509Certificate[],
  org: OrgState,
  now: Date
): Checked<CaRecord> {
  if (now < leaf.notBefore) return refused('BROKER_ERR_CERT_NOT_YET_VALID', 'the certificate is not valid yet')
  if (now > leaf.notAfter) return refused('BROKER_ERR_CERT_EXPIRED', 'the certificate has expired')
  const trust = trustOf(org)
  if (trust.revokedFingerprints.has(leaf.fingerprint)) return refused('BROKER_ERR_CERT_REVOKED', 'the certificate has been revoked')
  let current: X509Certificate = leaf.x509
  // Bounded walk: leaf, then at most three presented intermediates.
  for (let depth = 0; depth < 4; depth++) {
    const anchor = trust.anchors.find(a => issued(a, current))
    if (anchor !== undefined) {
      if (!isWithinValidity(anchor.facts, now)) return refused('BROKER_ERR_CERT_UNTRUSTED', 'the issuing CA has expired')
      // A CRL lists what its CA signed directly: the leaf, or the intermediate that leads to it.
      if (anchor.crlSerials.has(normalizeSerial(current.serialNumber))) return refused('BROKER_ERR_CERT_REVOKED', 'the certificate is listed in its CA\'s CRL')
      return allowed(anchor.record)
    }
    const next = presentedChain().find(c => c !== current && c.ca && issued({ x509: c, publicKey: c.publicKey }, current) && withinValidity(c, now))
    if (next === undefined) break
    current = next
  }
  return refused('BROKER_ERR_CERT_UNTRUSTED', 'the certificate does not chain to an active CA of this organisation')
}

// Whether one certificate's key signed another never changes: devices reconnect
// with the same certificate, so each pair's signature is checked once.
const signatures = new LRUCache<string, boolean>({ max: 100_000 })

function issued (issuer: { x509: X509Certificate, publicKey: KeyObject }, subject: X509Certificate): boolean {
  if (!subject.checkIssued(issuer.x509)) return false
  const pair = `${issuer.x509.fingerprint256}/${subject.fingerprint256}`
  let verified = signatures.get(pair)
  if (verified === undefined) {
    verified = subject.verify(issuer.publicKey)
    signatures.set(pair, verified)
  }
  return verified
}

function withinValidity (cert: X509Certificate, now: Date): boolean {
  return new Date(cert.validFrom) <= now && now <= new Date(cert.validTo)
}

interface Anchor {
  readonly record: CaRecord
  readonly x509: X509Certificate
  readonly publicKey: KeyObject
  readonly facts: Pick<CertificateFacts, 'notBefore' | 'notAfter'>
  readonly crlSerials: ReadonlySet<string>
}

interface OrgTrust {
  readonly anchors: readonly Anchor[]
  readonly revokedFingerprints: ReadonlySet<string>
}

// Keyed by the registry's immutable snapshot: a change yields a new OrgState, so a stale entry is never read.
const trustCache = new WeakMap<OrgState, OrgTrust>()

function trustOf (org: OrgState): OrgTrust {
  let trust = trustCache.get(org)
  if (trust === undefined) {
    trust = {
      anchors: trustedCasOf(org).map(record => {
        const x509 = new X509Certificate(record.certPem)
        return { record, x509, publicKey: x509.publicKey, facts: { notBefore: new Date(x509.validFrom), notAfter: new Date(x509.validTo) }, crlSerials: new Set(record.crl?.serials ?? []) }
      }),
      revokedFingerprints: new Set(org.revocations.map(r => r.fingerprint))
    }
    trustCache.set(org, trust)
  }
  return trust
}

/** Maps Node's `authorizationError` (an OpenSSL verify code) to the broker's reason code. */
export function codeForVerifyError (verifyError: string | Error | null | undefined): BrokerErrorCode {
  const text = verifyError instanceof Error ? (verifyError as NodeJS.ErrnoException).code ?? verifyError.message : String(verifyError)
  if (text.includes('CERT_HAS_EXPIRED')) return 'BROKER_ERR_CERT_EXPIRED'
  if (text.includes('CERT_NOT_YET_VALID')) return 'BROKER_ERR_CERT_NOT_YET_VALID'
  if (text.includes('INVALID_PURPOSE')) return 'BROKER_ERR_CERT_PURPOSE'
  return 'BROKER_ERR_CERT_UNTRUSTED'
}
