import { X509Certificate, type KeyObject } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import { crlPolicyOf, isCrlStale, isCrlUnavailable, isWithinValidity, normalizeSerial, trustedCasOf, type CaRecord, type CertificateFacts, type OrgState } from '../certs/index.js'
import { allowed, refused, type AccessErrorCode, type Checked } from './errors.js'

/** How far the broker follows a chain; the process entry reads it from MQGATE_MAX_CHAIN_DEPTH. */
export interface TrustPolicy {
  /**
   * The most certificates below the trust anchor, the device's own included:
   * 1 admits only certificates an uploaded CA signed directly; the default 4
   * admits up to three intermediates between the device and an uploaded CA.
   */
  readonly maxChainDepth: number
}

export const DEFAULT_TRUST_POLICY: TrustPolicy = Object.freeze({ maxChainDepth: 4 })

/**
 * Re-checks a client certificate against the organisation it connected to, at
 * every CONNECT. The handshake already verified it, but a resumed TLS session
 * carries the peer certificate of its first handshake (possibly under another
 * organisation's SNI, or before its CA was disabled), so trust is decided here
 * from the registry as it is now.
 *
 * Every active CA of the organisation is a trust anchor, self-signed or not
 * (EMQX's partial_chain, OpenSSL's X509_V_FLAG_PARTIAL_CHAIN): the path runs
 * from the leaf through the intermediates the client sent to the first one.
 * Above that anchor, the organisation's other CAs that signed it still speak
 * through their CRLs: a root's CRL that revokes an uploaded intermediate
 * refuses every device under it (RFC 5280 6.3: each certificate of the path
 * is checked against its issuer's CRL).
 */
export function checkCertificateTrust (
  leaf: CertificateFacts,
  /** The intermediates the client sent; read only when the leaf is not an active CA's own (rare, and costly to decode). */
  presentedChain: () => readonly X509Certificate[],
  org: OrgState,
  now: Date,
  policy: TrustPolicy = DEFAULT_TRUST_POLICY
): Checked<CaRecord> {
  if (now < leaf.notBefore) return refused('BROKER_ERR_CERT_NOT_YET_VALID', 'the certificate is not valid yet')
  if (now > leaf.notAfter) return refused('BROKER_ERR_CERT_EXPIRED', 'the certificate has expired')
  const trust = trustOf(org)
  if (trust.revokedFingerprints.has(leaf.fingerprint)) return refused('BROKER_ERR_CERT_REVOKED', 'the certificate has been revoked')
  let current: X509Certificate = leaf.x509
  const path = [current]
  for (;;) {
    const anchor = trust.anchors.find(a => issued(a, current))
    if (anchor !== undefined) {
      if (path.length > policy.maxChainDepth) {
        return refused('BROKER_ERR_CHAIN_TOO_DEEP', `the chain holds ${path.length} certificates below the trusted CA, more than ${policy.maxChainDepth} (MQGATE_MAX_CHAIN_DEPTH)`)
      }
      if (!isWithinValidity(anchor.facts, now)) return refused('BROKER_ERR_CERT_UNTRUSTED', 'the issuing CA has expired')
      const listed = crlVerdict(anchor, current, now)
      if (!listed.ok) return listed
      const above = checkAboveAnchor(anchor, trust, now)
      return above.ok ? allowed(anchor.record) : above
    }
    // Each presented certificate is used once: a chain that loops ends here.
    const next = presentedChain().find(c => !path.includes(c) && c.ca && issued({ x509: c, publicKey: c.publicKey }, current) && withinValidity(c, now))
    if (next === undefined) break
    path.push(next)
    current = next
  }
  return refused('BROKER_ERR_CERT_UNTRUSTED', 'the certificate does not chain to an active CA of this organisation')
}

/**
 * A CRL lists what its CA signed directly: the leaf, or the intermediate that
 * leads to it. A serial listed stays revoked however old the list; past its
 * nextUpdate, or while a CRL source has yielded no list yet, the CA's CRL
 * policy decides whether the rest still passes.
 */
function crlVerdict (issuer: Anchor, subject: X509Certificate, now: Date): Checked<true> {
  if (issuer.crlSerials.has(normalizeSerial(subject.serialNumber))) return refused('BROKER_ERR_CERT_REVOKED', 'the certificate (or a CA above it) is listed in its CA\'s CRL')
  if (crlPolicyOf(issuer.record) === 'closed' && isCrlStale(issuer.record, now)) {
    return refused('BROKER_ERR_CRL_EXPIRED', `the CRL of CA ${issuer.record.id} passed its nextUpdate and the CA's CRL policy is closed: load a fresh CRL`)
  }
  if (crlPolicyOf(issuer.record) === 'closed' && isCrlUnavailable(issuer.record)) {
    return refused('BROKER_ERR_CRL_UNAVAILABLE', `the CRL of CA ${issuer.record.id} has not been fetched from its source yet and the CA's CRL policy is closed`)
  }
  return allowed(true)
}

/** The CRLs of the organisation's CAs above the anchor (an uploaded root above an uploaded intermediate). */
function checkAboveAnchor (anchor: Anchor, trust: OrgTrust, now: Date): Checked<true> {
  let node = anchor
  const visited = new Set([node])
  for (;;) {
    const parent = trust.all.find(a => !visited.has(a) && issued(a, node.x509))
    if (parent === undefined) return allowed(true)
    const listed = crlVerdict(parent, node.x509, now)
    if (!listed.ok) return listed
    visited.add(parent)
    node = parent
  }
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
  /** The active CAs: what a chain may end at. */
  readonly anchors: readonly Anchor[]
  /** Every CA of the organisation, disabled ones too: their CRLs still revoke what they signed. */
  readonly all: readonly Anchor[]
  readonly revokedFingerprints: ReadonlySet<string>
}

// Keyed by the registry's immutable snapshot: a change yields a new OrgState, so a stale entry is never read.
const trustCache = new WeakMap<OrgState, OrgTrust>()

function trustOf (org: OrgState): OrgTrust {
  let trust = trustCache.get(org)
  if (trust === undefined) {
    const all = org.cas.map((record): Anchor => {
      const x509 = new X509Certificate(record.certPem)
      return { record, x509, publicKey: x509.publicKey, facts: { notBefore: new Date(x509.validFrom), notAfter: new Date(x509.validTo) }, crlSerials: new Set(record.crl?.serials ?? []) }
    })
    const active = new Set(trustedCasOf(org))
    trust = {
      anchors: all.filter(a => active.has(a.record)),
      all,
      revokedFingerprints: new Set(org.revocations.map(r => r.fingerprint))
    }
    trustCache.set(org, trust)
  }
  return trust
}

/** Maps Node's `authorizationError` (an OpenSSL verify code) to the broker's reason code. */
export function codeForVerifyError (verifyError: string | Error | null | undefined): AccessErrorCode {
  const text = verifyError instanceof Error ? (verifyError as NodeJS.ErrnoException).code ?? verifyError.message : String(verifyError)
  if (text.includes('CERT_HAS_EXPIRED')) return 'BROKER_ERR_CERT_EXPIRED'
  if (text.includes('CERT_NOT_YET_VALID')) return 'BROKER_ERR_CERT_NOT_YET_VALID'
  if (text.includes('INVALID_PURPOSE')) return 'BROKER_ERR_CERT_PURPOSE'
  return 'BROKER_ERR_CERT_UNTRUSTED'
}
