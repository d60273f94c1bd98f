import { createHash, createPublicKey, generateKeyPairSync, sign } from 'node:crypto'
import forge from 'node-forge'
import { caKeyTypeOf, SIGNATURE_ALGORITHMS, type KeySigner } from './signer.js'

/**
 * node-forge builds and reads X.509 structures but signs and carries RSA
 * keys only. mqgate lets forge assemble the ASN.1, puts the real
 * SubjectPublicKeyInfo (any key type Node knows: RSA, ECDSA, Ed25519) in
 * place of forge's, and signs through a signer (signer.ts). These are those steps.
 */

const { asn1 } = forge
type Asn1 = forge.asn1.Asn1

/** The SubjectPublicKeyInfo of a PEM key (public or private) as forge ASN.1. */
export function spkiAsn1 (keyPem: string): Asn1 {
  return asn1.fromDer(forge.util.createBuffer(spkiDer(keyPem).toString('binary')))
}

export function spkiDer (keyPem: string): Buffer {
  return createPublicKey(keyPem).export({ type: 'spki', format: 'der' })
}

/**
 * RFC 5280 4.2.1.2, method 1: SHA-1 of the value of the subjectPublicKey BIT
 * STRING, without its tag, length and unused-bits octet. The BIT STRING is
 * read undecoded: by default forge decodes a BIT STRING whose bits parse as
 * ASN.1 (an RSAPublicKey does) into child nodes, and hashing its "value" then
 * hashed nothing (every RSA key had SKI da39a3ee..., the SHA-1 of no bytes).
 */
export function subjectKeyIdentifier (keyPem: string): Buffer {
  const spki = asn1.fromDer(forge.util.createBuffer(spkiDer(keyPem).toString('binary')), { decodeBitStrings: false } as unknown as boolean)
  const bitString = (spki.value as Asn1[])[1]
  if (bitString.type !== asn1.Type.BITSTRING || typeof bitString.value !== 'string') throw new Error('SubjectPublicKeyInfo without a BIT STRING')
  return createHash('sha1').update(Buffer.from(bitString.value, 'binary').subarray(1)).digest()
}

/** An AlgorithmIdentifier: RSA's carry NULL parameters (RFC 4055 5); ECDSA's and Ed25519's none (RFC 5758 3.2, RFC 8410 3). */
export function algorithmIdentifier (oid: string): Asn1 {
  const params = oid.startsWith('1.2.840.113549.1.1.') ? [asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, '')] : []
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(oid).getBytes()), ...params])
}

/** SEQUENCE { toBeSigned, signatureAlgorithm, BIT STRING signature }: a certificate, a CSR or a CRL. */
export function signedStructure (toBeSigned: Asn1, signatureOid: string, signature: Buffer): Buffer {
  const signed = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    toBeSigned,
    algorithmIdentifier(signatureOid),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, '\x00' + signature.toString('binary'))
  ])
  return Buffer.from(asn1.toDer(signed).getBytes(), 'binary')
}

/** Signs through a signer: a managed CA's (the key stays in it) or a key signing for itself. */
export async function signStructure (toBeSigned: Asn1, signer: KeySigner): Promise<Buffer> {
  const der = Buffer.from(asn1.toDer(toBeSigned).getBytes(), 'binary')
  return signedStructure(toBeSigned, signer.signatureOid, await signer.sign(der))
}

/**
 * Signed with a key the caller holds, at once: a CSR's proof of possession
 * (RFC 2986 3), where the requester signs with its own key. No CA signs here.
 */
export function signStructureWithKey (toBeSigned: Asn1, keyPem: string): Buffer {
  const algorithm = SIGNATURE_ALGORITHMS[caKeyTypeOf(createPublicKey(keyPem))]
  const der = Buffer.from(asn1.toDer(toBeSigned).getBytes(), 'binary')
  return signedStructure(toBeSigned, algorithm.oid, sign(algorithm.hash, der, keyPem))
}

/** The subject Name of a certificate as it is encoded there, for the issuer field of what it signs (RFC 5280 4.1.2.4). */
export function subjectNameAsn1 (certPem: string): Asn1 {
  const der = new forge.util.ByteStringBuffer(Buffer.from(certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64').toString('binary'))
  const tbs = (asn1.fromDer(der).value as Asn1[])[0].value as Asn1[]
  // TBSCertificate: [0] version (absent in v1), serial, signature, issuer, validity, subject
  const offset = tbs[0].tagClass === asn1.Class.CONTEXT_SPECIFIC ? 1 : 0
  return tbs[offset + 4]
}

let placeholder: forge.pki.rsa.PublicKey | undefined

/** forge's TBS and CRI builders want an RSA key object; its SubjectPublicKeyInfo is replaced before signing. */
export function forgePlaceholderKey (): forge.pki.rsa.PublicKey {
  placeholder ??= forge.pki.publicKeyFromPem(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString()) as forge.pki.rsa.PublicKey
  return placeholder
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
