import { isIP } from 'node:net'
import { buildCertificate, generateKeyPair, type AltName } from './x509-builder.js'

/**
 * The certificate profiles mqgate issues, as data (cfssl's SigningProfile idea):
 * what each kind of certificate may do and for how long.
 */

export interface IssuedCertificate {
  readonly certPem: string
  readonly keyPem: string
}

export interface Signer {
  readonly certPem: string
  readonly keyPem: string
}

const DAY_MS = 24 * 60 * 60 * 1000
/** Back-dates notBefore so that a device whose clock lags a little still accepts a fresh certificate. */
const CLOCK_SKEW_MS = 5 * 60 * 1000

export const PROFILE_DAYS = Object.freeze({ ca: 3650, server: 397, client: 365 })

function validity (days: number, now = Date.now()): { notBefore: Date, notAfter: Date } {
  return { notBefore: new Date(now - CLOCK_SKEW_MS), notAfter: new Date(now + days * DAY_MS) }
}

/** A self-signed root for one organisation: signs its server and client certificates. */
export function createManagedCa (orgId: string, days = PROFILE_DAYS.ca): IssuedCertificate {
  const keys = generateKeyPair()
  const certPem = buildCertificate({
    subject: [{ shortName: 'CN', value: `mqgate ${orgId} CA` }, { shortName: 'O', value: orgId }],
    publicKeyPem: keys.publicKeyPem,
    selfKeyPem: keys.privateKeyPem,
    ...validity(days),
    basicConstraints: { cA: true, pathLenConstraint: 1 },
    keyUsage: { keyCertSign: true, cRLSign: true, digitalSignature: true, keyEncipherment: false }
  })
  return { certPem, keyPem: keys.privateKeyPem }
}

/**
 * A TLS server certificate: CN is the first name, every name is also a SAN
 * (IPs as iPAddress). Its key is ECDSA P-256: the server signs every full
 * handshake, and P-256 does that far cheaper than RSA-2048.
 */
export function createServerCertificate (signer: Signer, names: readonly string[], options: { days?: number, crlUrl?: string } = {}): IssuedCertificate {
  const days = options.days ?? PROFILE_DAYS.server
  const keys = generateKeyPair('ec')
  const altNames: AltName[] = names.map(name => ({ type: isIP(name) === 0 ? 2 : 7, value: name }))
  const certPem = buildCertificate({
    subject: [{ shortName: 'CN', value: names[0] }],
    publicKeyPem: keys.publicKeyPem,
    issuer: signer,
    ...validity(days),
    basicConstraints: { cA: false },
    keyUsage: { digitalSignature: true, keyEncipherment: false, keyCertSign: false, cRLSign: false },
    extKeyUsage: { serverAuth: true },
    altNames,
    crlUrl: options.crlUrl
  })
  return { certPem, keyPem: keys.privateKeyPem }
}

/**
 * A client certificate for a device, gateway or application. The CN is the
 * identity; checking it is the caller's job (the broker's identity rules).
 * Without a public key, a key pair is generated and returned.
 */
export function createClientCertificate (
  signer: Signer,
  commonName: string,
  options: { days?: number, publicKeyPem?: string, crlUrl?: string, keyType?: 'rsa' | 'ec' } = {}
): { certPem: string, keyPem?: string } {
  const keys = options.publicKeyPem === undefined ? generateKeyPair(options.keyType) : undefined
  const certPem = buildCertificate({
    subject: [{ shortName: 'CN', value: commonName }],
    publicKeyPem: options.publicKeyPem ?? (keys as { publicKeyPem: string }).publicKeyPem,
    issuer: signer,
    ...validity(options.days ?? PROFILE_DAYS.client),
    basicConstraints: { cA: false },
    keyUsage: { digitalSignature: true, keyEncipherment: true, keyCertSign: false, cRLSign: false },
    extKeyUsage: { clientAuth: true },
    crlUrl: options.crlUrl
  })
  return keys === undefined ? { certPem } : { certPem, keyPem: keys.privateKeyPem }
}
