import forge from 'node-forge'
import { CertsError } from './errors.js'
import type { UploadRule } from './upload-rules.js'

/**
 * Cryptographic floor for an uploaded CA: every device it vouches for is only
 * as hard to forge as the CA's key and the hash its certificate is signed
 * with. The floor follows CA/Browser Forum Baseline Requirements §6.1.5-6.1.6
 * and §7.1.3 (RSA ≥ 2048 bits; ECDSA on P-256, P-384, P-521; no MD5 or SHA-1).
 */

const MIN_RSA_BITS = 2048

/** Node's names for the NIST curves of RFC 5480 §2.1.1.1. */
const ALLOWED_CURVES: Readonly<Record<string, string>> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' }

/** Key types with no size or curve to check: EdDSA (RFC 8410) has one strength per algorithm. */
const FIXED_STRENGTH = new Set(['ed25519', 'ed448'])

export const mustHaveStrongKey: UploadRule = facts => {
  const key = facts.x509.publicKey
  const type = key.asymmetricKeyType ?? 'unknown'
  if (type === 'rsa' || type === 'rsa-pss') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0
    return bits >= MIN_RSA_BITS
      ? undefined
      : new CertsError('CERTS_ERR_CA_KEY_TOO_SMALL', `the CA's RSA key has ${bits} bits; at least ${MIN_RSA_BITS} are required`)
  }
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? 'unknown'
    return curve in ALLOWED_CURVES
      ? undefined
      : new CertsError('CERTS_ERR_CA_CURVE_UNSUPPORTED', `the CA's EC key is on curve ${curve}; only P-256, P-384 and P-521 are accepted`)
  }
  return FIXED_STRENGTH.has(type)
    ? undefined
    : new CertsError('CERTS_ERR_KEY_UNSUPPORTED', `the CA's key type ${type} is not accepted (RSA, ECDSA or EdDSA)`)
}

/** Signature algorithm OIDs whose hash is broken for signatures (RFC 6151 MD5, RFC 6194 / SHAttered SHA-1). */
const WEAK_SIGNATURES: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.2': 'md2WithRSAEncryption',
  '1.2.840.113549.1.1.3': 'md4WithRSAEncryption',
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.3.14.3.2.29': 'sha1WithRSASignature',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.10040.4.3': 'dsa-with-sha1'
}
const RSASSA_PSS = '1.2.840.113549.1.1.10'
const WEAK_HASHES: Readonly<Record<string, string>> = { '1.3.14.3.2.26': 'SHA-1', '1.2.840.113549.2.5': 'MD5' }

export const mustBeSignedStrongly: UploadRule = facts => {
  const weak = weakSignatureOf(facts.der)
  return weak === undefined
    ? undefined
    : new CertsError('CERTS_ERR_CA_SIGNATURE_WEAK', `the CA certificate is signed with ${weak}; re-issue it with SHA-256 or stronger`)
}

type Asn1 = forge.asn1.Asn1

/** The weak algorithm's name, or undefined. Certificate ::= SEQUENCE { tbs, signatureAlgorithm, signature } (RFC 5280 §4.1.1.2). */
function weakSignatureOf (der: Buffer): string | undefined {
  const cert = forge.asn1.fromDer(forge.util.createBuffer(der.toString('binary')))
  const [oidNode, params] = (cert.value as Asn1[])[1].value as Asn1[]
  const oid = forge.asn1.derToOid(oidNode.value as string)
  if (oid in WEAK_SIGNATURES) return WEAK_SIGNATURES[oid]
  if (oid !== RSASSA_PSS) return undefined
  // RFC 4055 §3.1: RSASSA-PSS-params ::= SEQUENCE { hashAlgorithm [0] DEFAULT sha1, ... }
  const hashField = ((params?.value ?? []) as Asn1[]).find(node => node.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && node.type === 0)
  if (hashField === undefined) return 'RSASSA-PSS with SHA-1 (the default hash)'
  const hashOid = forge.asn1.derToOid((((hashField.value as Asn1[])[0]).value as Asn1[])[0].value as string)
  return hashOid in WEAK_HASHES ? `RSASSA-PSS with ${WEAK_HASHES[hashOid]}` : undefined
}
