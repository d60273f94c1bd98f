import { createPrivateKey } from 'node:crypto'
import { isIP } from 'node:net'
import { generateKeyOfType, keySigner, type CaKeyType, type KeySigner } from './signer.js'
import { buildCertificate, type AltName, type CertificateSpec } from './x509-builder.js'

/**
 * The certificate profiles mqgate issues, as data (cfssl's SigningProfile
 * idea): what each kind of certificate may do and for how long. A profile
 * makes the CertificateSpec; only issuance.ts has it signed by a managed CA.
 */

export type ProfileName = 'client' | 'server' | 'ocsp-signer'

export interface IssuedCertificate {
  readonly certPem: string
  readonly keyPem: string
}

/** A CA key held elsewhere (a PKCS#11 token): its public half and what signs with it. */
export interface ExternalCaKey {
  readonly publicKeyPem: string
  readonly signer: KeySigner
}

const DAY_MS = 24 * 60 * 60 * 1000
/** Back-dates notBefore so that a device whose clock lags a little still accepts a fresh certificate. */
const CLOCK_SKEW_MS = 5 * 60 * 1000

/** A delegated OCSP signer is short-lived: it has no revocation of its own (id-pkix-ocsp-nocheck), so its validity bounds a stolen key's use. */
export const PROFILE_DAYS = Object.freeze({ ca: 3650, server: 397, client: 365, 'ocsp-signer': 30 })
/** The managed CA's key type when the operator names none: RSA-2048, what every client and PKCS#12 tool reads. */
export const DEFAULT_CA_KEY_TYPE: CaKeyType = 'rsa'

function validity (days: number, now = Date.now()): { notBefore: Date, notAfter: Date } {
  return { notBefore: new Date(now - CLOCK_SKEW_MS), notAfter: new Date(now + days * DAY_MS) }
}

/** A self-signed root for one organisation: signs its server and client certificates and its CRL. */
export async function createManagedCa (orgId: string, options?: { days?: number, keyType?: CaKeyType }): Promise<IssuedCertificate>
/** The same root over a key that stays where it is (a token): only the certificate comes back. */
export async function createManagedCa (orgId: string, options: { days?: number, key: ExternalCaKey }): Promise<{ certPem: string }>
export async function createManagedCa (orgId: string, options: { days?: number, keyType?: CaKeyType, key?: ExternalCaKey } = {}): Promise<{ certPem: string, keyPem?: string }> {
  const keys = options.key === undefined ? generateKeyOfType(options.keyType ?? DEFAULT_CA_KEY_TYPE) : undefined
  const certPem = await buildCertificate({
    subject: [{ shortName: 'CN', value: `mqgate ${orgId} CA` }, { shortName: 'O', value: orgId }],
    publicKeyPem: keys?.publicKeyPem ?? (options.key as ExternalCaKey).publicKeyPem,
    ...validity(options.days ?? PROFILE_DAYS.ca),
    basicConstraints: { cA: true, pathLenConstraint: 1 },
    keyUsage: { keyCertSign: true, cRLSign: true, digitalSignature: true, keyEncipherment: false }
  }, keys === undefined ? (options.key as ExternalCaKey).signer : keySigner(createPrivateKey(keys.privateKeyPem)))
  return keys === undefined ? { certPem } : { certPem, keyPem: keys.privateKeyPem }
}

export interface ProfileOptions {
  readonly days?: number
  readonly crlUrl?: string
  /** The issuer's OCSP responder (authorityInfoAccess), when one is published. */
  readonly ocspUrl?: string
}

/** A TLS server certificate: CN is the first name, every name is also a SAN (IPs as iPAddress). */
export function serverProfile (names: readonly string[], publicKeyPem: string, options: ProfileOptions = {}): CertificateSpec {
  const altNames: AltName[] = names.map(name => ({ type: isIP(name) === 0 ? 2 : 7, value: name }))
  return {
    subject: [{ shortName: 'CN', value: names[0] }],
    publicKeyPem,
    ...validity(options.days ?? PROFILE_DAYS.server),
    basicConstraints: { cA: false },
    keyUsage: { digitalSignature: true, keyEncipherment: false, keyCertSign: false, cRLSign: false },
    extKeyUsage: { serverAuth: true },
    altNames,
    crlUrl: options.crlUrl,
    ocspUrl: options.ocspUrl
  }
}

/**
 * A client certificate for a device, gateway or application. The CN is the
 * identity; checking it is the caller's job (issuance validates it).
 */
export function clientProfile (commonName: string, publicKeyPem: string, options: ProfileOptions = {}): CertificateSpec {
  return {
    subject: [{ shortName: 'CN', value: commonName }],
    publicKeyPem,
    ...validity(options.days ?? PROFILE_DAYS.client),
    basicConstraints: { cA: false },
    keyUsage: { digitalSignature: true, keyEncipherment: true, keyCertSign: false, cRLSign: false },
    extKeyUsage: { clientAuth: true },
    crlUrl: options.crlUrl,
    ocspUrl: options.ocspUrl
  }
}

/**
 * The managed CA's delegated OCSP signer (RFC 6960 4.2.2.2): id-kp-OCSPSigning
 * only, and id-pkix-ocsp-nocheck, so that clients do not ask the responder
 * about the responder's own certificate (4.2.2.2.1). It points to no CRL or
 * responder for the same reason.
 */
export function ocspSignerProfile (commonName: string, publicKeyPem: string, options: ProfileOptions = {}): CertificateSpec {
  return {
    subject: [{ shortName: 'CN', value: commonName }],
    publicKeyPem,
    ...validity(options.days ?? PROFILE_DAYS['ocsp-signer']),
    basicConstraints: { cA: false },
    keyUsage: { digitalSignature: true, keyEncipherment: false, keyCertSign: false, cRLSign: false },
    extKeyUsage: { ocspSigning: true },
    ocspNoCheck: true
  }
}

export const PROFILES: Readonly<Record<ProfileName, (names: readonly string[], publicKeyPem: string, options: ProfileOptions) => CertificateSpec>> = Object.freeze({
  client: (names, publicKeyPem, options) => clientProfile(names[0], publicKeyPem, options),
  server: serverProfile,
  'ocsp-signer': (names, publicKeyPem, options) => ocspSignerProfile(names[0], publicKeyPem, options)
})
