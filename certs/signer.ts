import { generateKeyPairSync, sign, X509Certificate, type KeyObject } from 'node:crypto'
import { CertsError } from './errors.js'

/**
 * The one signing seam of a managed CA (cfssl's Signer keeps its key inside):
 * callers hand over the DER of a TBSCertificate or TBSCertList and get the
 * signature back; the key never leaves. A local KeyObject today; a KEK-wrapped
 * or PKCS#11 key later implements the same interface.
 */

export type CaKeyType = 'rsa' | 'p256' | 'p384' | 'p521' | 'ed25519'
export const CA_KEY_TYPES: readonly CaKeyType[] = Object.freeze(['rsa', 'p256', 'p384', 'p521', 'ed25519'])

/** What signs a structure: a CA (CaSigner) or a key signing its own certificate or CSR. */
export interface KeySigner {
  readonly keyType: CaKeyType
  /** sha256WithRSA / ecdsa-with-SHA256|384|512 / Ed25519, by key type. */
  readonly signatureOid: string
  /** The raw signature over the DER TBS, as X.509 carries it in the BIT STRING. */
  sign (tbs: Buffer): Promise<Buffer>
}

export interface CaSigner extends KeySigner {
  /** The CA certificate. */
  readonly certPem: string
}

/** How each key type signs: the OID (RFC 4055, RFC 5758 3.2, RFC 8410 3) and Node's digest (null: Ed25519 hashes itself). */
export const SIGNATURE_ALGORITHMS: Readonly<Record<CaKeyType, { readonly oid: string, readonly hash: string | null, readonly name: string }>> = Object.freeze({
  rsa: { oid: '1.2.840.113549.1.1.11', hash: 'sha256', name: 'SHA256WithRSA' },
  // ECDSA's hash matches the curve's strength (RFC 5480 4; CA/B Forum BR 7.1.3.2).
  p256: { oid: '1.2.840.10045.4.3.2', hash: 'sha256', name: 'ECDSAWithSHA256' },
  p384: { oid: '1.2.840.10045.4.3.3', hash: 'sha384', name: 'ECDSAWithSHA384' },
  p521: { oid: '1.2.840.10045.4.3.4', hash: 'sha512', name: 'ECDSAWithSHA512' },
  ed25519: { oid: '1.3.101.112', hash: null, name: 'Ed25519' }
})

/** The names Go's crypto/x509 (and so Cloudflare's API) gives a signature algorithm, by OID. */
export function signatureAlgorithmName (oid: string): string {
  return Object.values(SIGNATURE_ALGORITHMS).find(a => a.oid === oid)?.name ?? oid
}

const CURVES: Readonly<Record<string, CaKeyType>> = { prime256v1: 'p256', secp384r1: 'p384', secp521r1: 'p521' }
const CURVE_OF: Readonly<Record<'p256' | 'p384' | 'p521', string>> = { p256: 'prime256v1', p384: 'secp384r1', p521: 'secp521r1' }

/** The CA key type of a key (private or public); other types and curves cannot sign for a managed CA. */
export function caKeyTypeOf (key: KeyObject): CaKeyType {
  const type = key.asymmetricKeyType
  if (type === 'rsa' || type === 'ed25519') return type
  const curve = key.asymmetricKeyDetails?.namedCurve
  if (type === 'ec' && curve !== undefined && CURVES[curve] !== undefined) return CURVES[curve]
  throw new CertsError('CERTS_ERR_KEY_UNSUPPORTED', `a ${String(type)}${curve === undefined ? '' : ' ' + curve} key cannot sign certificates here`)
}

export function isCaKeyType (value: unknown): value is CaKeyType {
  return typeof value === 'string' && (CA_KEY_TYPES as readonly string[]).includes(value)
}

/** A fresh key pair for a CA (or any certificate) of that type, PKCS#8 / SPKI PEM. */
export function generateKeyOfType (keyType: CaKeyType): { privateKeyPem: string, publicKeyPem: string } {
  const { privateKey, publicKey } = keyType === 'rsa'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : keyType === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: CURVE_OF[keyType] })
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString()
  }
}

/**
 * A signer over a key held in this process. Node's `sign` gives RSA PKCS#1
 * v1.5, ECDSA as the DER Ecdsa-Sig-Value X.509 expects (RFC 5480 2.2.3's
 * default dsaEncoding 'der'), and pure Ed25519 (RFC 8410).
 */
export function localSigner (certPem: string, key: KeyObject): CaSigner {
  const signer = keySigner(key)
  if (!new X509Certificate(certPem).checkPrivateKey(key)) throw new CertsError('CERTS_ERR_KEY_MISMATCH', 'the CA certificate does not belong to the signing key')
  return Object.freeze({ ...signer, certPem })
}

/** A key signing for itself: a self-signed CA certificate before that certificate exists. */
export function keySigner (key: KeyObject): KeySigner {
  if (key.type !== 'private') throw new CertsError('CERTS_ERR_KEY_UNSUPPORTED', 'a signer needs a private key')
  const keyType = caKeyTypeOf(key)
  const algorithm = SIGNATURE_ALGORITHMS[keyType]
  return Object.freeze({
    keyType,
    signatureOid: algorithm.oid,
    async sign (tbs: Buffer): Promise<Buffer> {
      return sign(algorithm.hash, tbs, key)
    }
  })
}
