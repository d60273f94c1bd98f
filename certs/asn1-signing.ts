import { createHash, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import forge from 'node-forge'

/**
 * node-forge builds and reads X.509 structures but signs and carries RSA
 * keys only. mqgate lets forge assemble the ASN.1, puts the real
 * SubjectPublicKeyInfo (any key type Node knows: RSA, ECDSA, Ed25519) in
 * place of forge's, and signs with Node's crypto. These are those steps.
 */

const { asn1 } = forge
type Asn1 = forge.asn1.Asn1

const SIGNATURE_OIDS = { rsa: '1.2.840.113549.1.1.11', ec: '1.2.840.10045.4.3.2', ed25519: '1.3.101.112' } as const

/** The SubjectPublicKeyInfo of a PEM key (public or private) as forge ASN.1. */
export function spkiAsn1 (keyPem: string): Asn1 {
  return asn1.fromDer(forge.util.createBuffer(spkiDer(keyPem).toString('binary')))
}

export function spkiDer (keyPem: string): Buffer {
  return createPublicKey(keyPem).export({ type: 'spki', format: 'der' })
}

/** RFC 5280 4.2.1.2, method 1: SHA-1 of the subjectPublicKey BIT STRING's bits. */
export function subjectKeyIdentifier (keyPem: string): Buffer {
  const spki = spkiAsn1(keyPem)
  const bits = Buffer.from((spki.value as Asn1[])[1].value as string, 'binary')
  return createHash('sha1').update(bits.subarray(1)).digest()
}

/** The AlgorithmIdentifier a key signs with (SHA-256 for RSA and ECDSA). */
export function signatureAlgorithm (signingKeyPem: string): { oid: string, asn1: Asn1 } {
  const type = keyTypeOf(signingKeyPem)
  const oid = SIGNATURE_OIDS[type]
  // RSA's AlgorithmIdentifier carries NULL parameters; ECDSA's and Ed25519's carry none (RFC 5758, RFC 8410).
  const params = type === 'rsa' ? [asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, '')] : []
  return { oid, asn1: asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(oid).getBytes()), ...params]) }
}

/** SEQUENCE { toBeSigned, signatureAlgorithm, BIT STRING signature }: a certificate, a CSR or a CRL. */
export function signStructure (toBeSigned: Asn1, signingKeyPem: string): Buffer {
  const der = Buffer.from(asn1.toDer(toBeSigned).getBytes(), 'binary')
  const type = keyTypeOf(signingKeyPem)
  const signature = sign(type === 'ed25519' ? null : 'sha256', der, signingKeyPem)
  const signed = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    toBeSigned,
    signatureAlgorithm(signingKeyPem).asn1,
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, '\x00' + signature.toString('binary'))
  ])
  return Buffer.from(asn1.toDer(signed).getBytes(), 'binary')
}

let placeholder: forge.pki.rsa.PublicKey | undefined

/** forge's TBS and CRI builders want an RSA key object; its SubjectPublicKeyInfo is replaced before signing. */
export function forgePlaceholderKey (): forge.pki.rsa.PublicKey {
  placeholder ??= forge.pki.publicKeyFromPem(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString()) as forge.pki.rsa.PublicKey
  return placeholder
}

function keyTypeOf (keyPem: string): keyof typeof SIGNATURE_OIDS {
  const type = (createPublicKey(keyPem) as KeyObject).asymmetricKeyType
  if (type === 'rsa' || type === 'ec' || type === 'ed25519') return type
  throw new Error(`unsupported key type ${String(type)}`)
}

/** Hashes for the signature algorithms mqgate verifies (null: the algorithm hashes itself). */
export const VERIFY_HASHES: Readonly<Record<string, string | null>> = Object.freeze({
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.3.101.112': null
})

export function toPem (der: Buffer, label: string): string {
  return `-----BEGIN ${label}-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n?$/, '\n')}-----END ${label}-----\n`
}
