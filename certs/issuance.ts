import { randomUUID } from 'node:crypto'
import { inspectCertificate } from './certificate-facts.js'
import { createCsr, readCsr } from './csr.js'
import { checkRequestedKey } from './csr-key-strength.js'
import { CertsError } from './errors.js'
import { isServerName, parseClaimName, parseIdentityName } from './names.js'
import type { Actor, OrgRegistry } from './org-registry.js'
import { PROFILE_DAYS, PROFILES, type ProfileName } from './profiles.js'
import type { IssuedCertRecord, IssuedKind } from './records.js'
import { signatureAlgorithmName, type CaSigner } from './signer.js'
import { buildCertificate, generateKeyPair } from './x509-builder.js'

/**
 * The one way a managed CA signs a certificate (design.md: no certificate of
 * mqgate's making is off the record), in smallstep's authority.Sign shape:
 * validators, then the profile (the modifiers), then the signature by the
 * CA's signer (cfssl's Signer: the key stays inside), then the record, the
 * audit line, and the answer.
 */

export interface IssuanceRequest {
  readonly kind: IssuedKind
  readonly profile: ProfileName
  /** client: the one CN (an identity); server: DNS names and IPs, the first also the CN. */
  readonly names: readonly string[]
  /** The requester's CSR (proof that it holds the key); without one a key is generated and returned once. */
  readonly csrPem?: string
  /** For a generated key: RSA-2048 (default) or ECDSA P-256 (cheap to make on a busy event loop, cheap for a TLS server). */
  readonly keyType?: 'rsa' | 'ec'
  readonly days?: number
  /** A renewal: the id of the certificate the new one replaces (recorded and audited with it). */
  readonly replaces?: string
}

export interface Issued {
  readonly record: IssuedCertRecord
  /** Only when the key was generated here: handed to the caller, never stored. */
  readonly keyPem?: string
}

/** A CA that signs, and where what it signs is recorded and audited. */
export interface Authority {
  readonly caId: string
  readonly signer: CaSigner
  /** cRLDistributionPoints of what it signs. */
  readonly crlUrl?: string
  /** The OCSP responder named in the authorityInfoAccess of what it signs. */
  readonly ocspUrl?: string
  record (record: IssuedCertRecord): Promise<void>
  audit (actor: Actor, action: string, fields: Record<string, unknown>): void
}

/** An organisation's managed CA as an Authority: records in the store's `issued` collection, audits on the registry's log. */
export function orgAuthority (registry: OrgRegistry, orgId: string): Authority {
  return {
    caId: registry.require(orgId).org.managedCaId,
    signer: registry.signerOf(orgId),
    crlUrl: registry.options.crlUrlFor?.(orgId),
    ocspUrl: registry.options.ocspUrlFor?.(orgId),
    record: async record => await registry.store.put(orgId, 'issued', record, { quiet: true }),
    audit: (actor, action, fields) => registry.audit(actor, action, orgId, fields)
  }
}

export async function issue (authority: Authority, request: IssuanceRequest, actor: Actor): Promise<Issued> {
  const days = validateRequest(request)
  const csr = request.csrPem === undefined ? undefined : readCsr(request.csrPem)
  if (request.profile === 'client' && csr?.commonName !== undefined && csr.commonName !== request.names[0]) {
    throw new CertsError('CERTS_ERR_CSR_CN_MISMATCH', `the CSR names "${csr.commonName.slice(0, 100)}", not ${request.names[0]}`)
  }
  if (csr !== undefined) checkRequestedKey(csr.publicKeyPem)
  const keys = csr === undefined ? generateKeyPair(request.keyType) : undefined
  const spec = PROFILES[request.profile](request.names, csr?.publicKeyPem ?? (keys as { publicKeyPem: string }).publicKeyPem, { days, crlUrl: authority.crlUrl, ocspUrl: authority.ocspUrl })
  // The instant of issue, not the certificate's notBefore: that one is back-dated
  // for clock skew and has whole seconds only, so it cannot order what one
  // second issued.
  const issuedOn = new Date().toISOString()
  const certPem = await buildCertificate(spec, authority.signer)
  const facts = inspectCertificate(certPem)
  const record: IssuedCertRecord = {
    id: randomUUID(),
    kind: request.kind,
    caId: authority.caId,
    commonName: request.names[0],
    serial: facts.serial,
    fingerprint: facts.fingerprint,
    ski: facts.subjectKeyIdentifier ?? '',
    signatureAlgorithm: signatureAlgorithmName(authority.signer.signatureOid),
    certPem,
    csrPem: request.csrPem ?? createCsr((keys as { privateKeyPem: string }).privateKeyPem, request.names[0], request.profile === 'server' ? request.names : []),
    issuedOn,
    expiresOn: facts.notAfter.toISOString(),
    validityDays: days,
    ...(request.replaces === undefined ? {} : { replaces: request.replaces })
  }
  await authority.record(record)
  const renewal = record.replaces === undefined ? {} : { replaces: record.replaces }
  authority.audit(actor, 'cert.issue', {
    kind: record.kind, certId: record.id, commonName: record.commonName, serial: record.serial, fingerprint: record.fingerprint, expiresOn: record.expiresOn, keyGenerated: csr === undefined, ...renewal
  })
  return keys === undefined ? { record } : { record, keyPem: keys.privateKeyPem }
}

/** The validators: names the profile allows, a validity within bounds. Returns the validity in days. */
function validateRequest (request: IssuanceRequest): number {
  if (request.kind === 'claim') {
    // A claim certificate is a client certificate whose CN is `c:<name>`, and nothing else is.
    if (request.profile !== 'client' || request.names.length !== 1 || parseClaimName(request.names[0]) === undefined) {
      throw new CertsError('CERTS_ERR_CLAIM_INVALID', 'a claim certificate\'s CN is c:<name>, the name 1-64 characters of A-Z a-z 0-9 . _ -')
    }
  } else if (request.profile === 'client') {
    if (request.names.length !== 1 || parseIdentityName(request.names[0]) === undefined) {
      throw new CertsError('CERTS_ERR_NAME_INVALID', 'the CN must be d:<type>:<id>, g:<type>:<id> or a:<app>, each name 1-64 characters of A-Z a-z 0-9 . _ -')
    }
  } else if (request.profile === 'ocsp-signer') {
    // mqgate names its own signers (ocsp/ocsp-signers.ts); the CN is a label, not an identity or a host.
    if (request.names.length !== 1 || !/^[A-Za-z0-9 ._-]{1,64}$/.test(request.names[0])) {
      throw new CertsError('CERTS_ERR_NAME_INVALID', 'an OCSP signer\'s CN is 1-64 characters of A-Z a-z 0-9 space . _ -')
    }
  } else {
    if (request.names.length === 0) throw new CertsError('CERTS_ERR_NAME_INVALID', 'a server certificate needs at least one name')
    for (const name of request.names) {
      if (!isServerName(name)) throw new CertsError('CERTS_ERR_NAME_INVALID', `"${name.slice(0, 100)}" is neither a DNS name nor an IP address`)
    }
  }
  const days = request.days ?? PROFILE_DAYS[request.profile]
  if (!Number.isInteger(days) || days < 1 || days > 3650) throw new CertsError('CERTS_ERR_DAYS_INVALID', 'validity must be 1 to 3650 days')
  return days
}
