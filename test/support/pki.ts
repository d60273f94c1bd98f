import { buildCertificate, generateKeyPair, type CertificateSpec, type KeyPairPem, type SubjectAttribute } from '../../certs/index.js'

/**
 * Certificates for tests, minted through the product's own builder (as
 * fastify's tests mint theirs with node-forge), including the hostile ones a
 * real CA would never issue.
 */

export interface TestCert {
  readonly certPem: string
  readonly keyPem: string
}

const DAY = 24 * 60 * 60 * 1000
let sharedKeys: KeyPairPem | undefined

/** One key pair for every test client certificate: RSA generation dominates test time otherwise. */
function clientKeys (): KeyPairPem {
  sharedKeys ??= generateKeyPair()
  return sharedKeys
}

export function mintCa (commonName = 'Operator CA', options: { notBefore?: Date, notAfter?: Date, issuer?: TestCert } = {}): TestCert {
  const keys = generateKeyPair()
  const spec: CertificateSpec = {
    subject: [{ shortName: 'CN', value: commonName }, { shortName: 'O', value: 'mqgate tests' }],
    publicKeyPem: keys.publicKeyPem,
    ...(options.issuer === undefined ? { selfKeyPem: keys.privateKeyPem } : { issuer: options.issuer }),
    notBefore: options.notBefore ?? new Date(Date.now() - DAY),
    notAfter: options.notAfter ?? new Date(Date.now() + 365 * DAY),
    basicConstraints: { cA: true },
    keyUsage: { keyCertSign: true, cRLSign: true, digitalSignature: true, keyEncipherment: false }
  }
  return { certPem: buildCertificate(spec), keyPem: keys.privateKeyPem }
}

export interface ClientOptions {
  /** One CN, several (a repeated CN), or none. */
  readonly commonNames?: readonly string[]
  readonly sanEmails?: readonly string[]
  readonly notBefore?: Date
  readonly notAfter?: Date
  /** basicConstraints CA:TRUE on a client certificate. */
  readonly isCA?: boolean
  /** `none` leaves the extension out. */
  readonly keyUsage?: 'client' | 'ca' | 'none'
  readonly extKeyUsage?: 'clientAuth' | 'serverAuth' | 'none'
}

export function mintClient (issuer: TestCert, commonName: string | undefined, options: ClientOptions = {}): TestCert {
  const keys = clientKeys()
  const names = options.commonNames ?? (commonName === undefined ? [] : [commonName])
  const subject: SubjectAttribute[] = names.map(value => ({ shortName: 'CN', value }))
  if (subject.length === 0) subject.push({ shortName: 'O', value: 'no common name' })
  const keyUsage = options.keyUsage ?? 'client'
  const eku = options.extKeyUsage ?? 'clientAuth'
  const certPem = buildCertificate({
    subject,
    publicKeyPem: keys.publicKeyPem,
    issuer,
    notBefore: options.notBefore ?? new Date(Date.now() - DAY),
    notAfter: options.notAfter ?? new Date(Date.now() + 30 * DAY),
    basicConstraints: { cA: options.isCA === true },
    ...(keyUsage === 'none'
      ? {}
      : { keyUsage: keyUsage === 'ca' ? { keyCertSign: true, cRLSign: true, digitalSignature: false, keyEncipherment: false } : { digitalSignature: true, keyEncipherment: true, keyCertSign: false, cRLSign: false } }),
    ...(eku === 'none' ? {} : { extKeyUsage: eku === 'clientAuth' ? { clientAuth: true } : { serverAuth: true } }),
    altNames: (options.sanEmails ?? []).map(value => ({ type: 1 as const, value }))
  })
  return { certPem, keyPem: keys.privateKeyPem }
}

export const DAYS = (n: number): Date => new Date(Date.now() + n * DAY)
