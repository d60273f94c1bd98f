import { createPrivateKey, sign, X509Certificate } from 'node:crypto'
import forge from 'node-forge'
import {
  caKeyTypeOf, clientProfile, generateKeyPair, managedCaOf, serverProfile, signedStructure, SIGNATURE_ALGORITHMS, tbsCertificate,
  type CertificateSpec, type KeyPairPem, type OrgRegistry, type SubjectAttribute
} from '../../certs/index.js'

/**
 * Certificates for tests, minted through the product's own builder (as
 * fastify's tests mint theirs with node-forge), including the hostile ones a
 * real CA would never issue. They are signed here, at once, with a key the
 * test holds: nothing the product signs takes this way (issuance.ts).
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

/** Signs a spec with `signingKeyPem`: issued by `issuerCertPem`, or self-signed without it. */
export function signSpec (spec: CertificateSpec, signingKeyPem: string, issuerCertPem?: string): string {
  const key = createPrivateKey(signingKeyPem)
  const algorithm = SIGNATURE_ALGORITHMS[caKeyTypeOf(key)]
  const tbs = tbsCertificate(spec, issuerCertPem, algorithm.oid)
  const der = Buffer.from(forge.asn1.toDer(tbs).getBytes(), 'binary')
  return new X509Certificate(signedStructure(tbs, algorithm.oid, sign(algorithm.hash, der, key))).toString()
}

export function mintCa (commonName = 'Operator CA', options: { notBefore?: Date, notAfter?: Date, issuer?: TestCert } = {}): TestCert {
  const keys = generateKeyPair()
  const spec: CertificateSpec = {
    subject: [{ shortName: 'CN', value: commonName }, { shortName: 'O', value: 'mqgate tests' }],
    publicKeyPem: keys.publicKeyPem,
    notBefore: options.notBefore ?? new Date(Date.now() - DAY),
    notAfter: options.notAfter ?? new Date(Date.now() + 365 * DAY),
    basicConstraints: { cA: true },
    keyUsage: { keyCertSign: true, cRLSign: true, digitalSignature: true, keyEncipherment: false }
  }
  const certPem = options.issuer === undefined ? signSpec(spec, keys.privateKeyPem) : signSpec(spec, options.issuer.keyPem, options.issuer.certPem)
  return { certPem, keyPem: keys.privateKeyPem }
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
  const certPem = signSpec({
    subject,
    publicKeyPem: keys.publicKeyPem,
    notBefore: options.notBefore ?? new Date(Date.now() - DAY),
    notAfter: options.notAfter ?? new Date(Date.now() + 30 * DAY),
    basicConstraints: { cA: options.isCA === true },
    ...(keyUsage === 'none'
      ? {}
      : { keyUsage: keyUsage === 'ca' ? { keyCertSign: true, cRLSign: true, digitalSignature: false, keyEncipherment: false } : { digitalSignature: true, keyEncipherment: true, keyCertSign: false, cRLSign: false } }),
    ...(eku === 'none' ? {} : { extKeyUsage: eku === 'clientAuth' ? { clientAuth: true } : { serverAuth: true } }),
    altNames: (options.sanEmails ?? []).map(value => ({ type: 1 as const, value }))
  }, issuer.keyPem, issuer.certPem)
  return { certPem, keyPem: keys.privateKeyPem }
}

/** A certificate of the product's client or server profile, signed by a test CA (not recorded: a test fixture). */
export function mintProfiled (issuer: TestCert, profile: 'client' | 'server', names: readonly string[], options: { publicKeyPem?: string, keyPem?: string, keyType?: 'rsa' | 'ec' } = {}): TestCert {
  const keys = options.publicKeyPem === undefined ? generateKeyPair(options.keyType ?? (profile === 'server' ? 'ec' : 'rsa')) : { publicKeyPem: options.publicKeyPem, privateKeyPem: options.keyPem ?? '' }
  const spec = profile === 'server' ? serverProfile(names, keys.publicKeyPem) : clientProfile(names[0], keys.publicKeyPem)
  return { certPem: signSpec(spec, issuer.keyPem, issuer.certPem), keyPem: keys.privateKeyPem }
}

/** An organisation's managed CA with its key, read from the registry's records: for test fixtures only. */
export function managedCaKeyOf (registry: OrgRegistry, orgId: string): TestCert {
  const ca = managedCaOf(registry.require(orgId))
  return { certPem: ca.certPem, keyPem: createPrivateKey(ca.keyPem as string).export({ type: 'pkcs8', format: 'pem' }).toString() }
}

export const DAYS = (n: number): Date => new Date(Date.now() + n * DAY)
