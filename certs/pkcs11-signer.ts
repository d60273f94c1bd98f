import { createHash, createPublicKey, randomBytes, X509Certificate } from 'node:crypto'
import { endianness } from 'node:os'
import forge from 'node-forge'
import { CertsError } from './errors.js'
import { parsePkcs11Uri, type Pkcs11KeyName } from './pkcs11-uri.js'
import { ck, hsmError, Pkcs11Sessions, type Handle, type Pkcs11, type Pkcs11Config } from './pkcs11-session.js'
import { caKeyTypeOf, SIGNATURE_ALGORITHMS, type CaKeyType, type CaSigner, type KeySigner } from './signer.js'

/**
 * CA keys held in a PKCS#11 token (an HSM, SoftHSM2): generated there as
 * sensitive, non-extractable keys, and used only through C_Sign. The
 * registry keeps the key's URI (RFC 7512), never the key. Signatures:
 * CKM_SHA256_RSA_PKCS (RSASSA-PKCS1-v1_5, RFC 4055 5) for RSA; CKM_ECDSA over
 * the digest computed here (SHA-256/384/512 by curve, RFC 5758 3.2), its raw
 * r||s (PKCS#11 3.0 2.3.1) re-encoded as the DER Ecdsa-Sig-Value X.509 needs
 * (RFC 5480 2.2.3 / RFC 3279 2.2.3). Ed25519 in a token is not offered yet.
 */

const { asn1 } = forge
const TOKEN_KEY_TYPES: readonly CaKeyType[] = ['rsa', 'p256', 'p384', 'p521']
const CURVE_OIDS: Readonly<Record<string, { keyType: CaKeyType, crv: string, size: number }>> = {
  '1.2.840.10045.3.1.7': { keyType: 'p256', crv: 'P-256', size: 32 },
  '1.3.132.0.34': { keyType: 'p384', crv: 'P-384', size: 48 },
  '1.3.132.0.35': { keyType: 'p521', crv: 'P-521', size: 66 }
}

/** A key in a token, ready to sign its own CA certificate. */
export interface TokenKey {
  readonly publicKeyPem: string
  /** True when the URI named a key already in the token (none was generated). */
  readonly existing: boolean
  readonly signer: KeySigner
}

/** The CA keys of one PKCS#11 module: what OrgRegistry asks for a CA whose record names a `pkcs11:` URI. */
export class Pkcs11Keys {
  private readonly sessions: Pkcs11Sessions

  constructor (config: Pkcs11Config) {
    this.sessions = new Pkcs11Sessions(config)
  }

  /**
   * The key the URI names: used as it is when the token holds it (a key made
   * in a key ceremony with the HSM's own tools), generated there otherwise.
   */
  prepare (uri: string, keyType: CaKeyType): TokenKey {
    const name = parsePkcs11Uri(uri)
    if (!TOKEN_KEY_TYPES.includes(keyType)) throw new CertsError('CERTS_ERR_KEY_UNSUPPORTED', `a CA key in a PKCS#11 token is RSA or ECDSA (P-256, P-384, P-521), not ${keyType}`)
    const { module, session } = this.sessions.session(name.token)
    let existing = true
    let publicKey = findOne(module, session, ck().CKO_PUBLIC_KEY, name)
    if (findOne(module, session, ck().CKO_PRIVATE_KEY, name) === undefined) {
      existing = false
      publicKey = generate(module, session, name, keyType)
    }
    if (publicKey === undefined) throw new CertsError('CERTS_ERR_HSM_KEY_NOT_FOUND', `the token holds the private key ${uri} but not its public key`)
    const publicKeyPem = publicKeyPemOf(module, session, publicKey)
    return { publicKeyPem, existing, signer: this.keySigner(name, caKeyTypeOf(createPublicKey(publicKeyPem))) }
  }

  /** The signer of a CA whose key is in the token; the token is reached at the first signature. */
  signer (uri: string, certPem: string): CaSigner {
    const name = parsePkcs11Uri(uri)
    return Object.freeze({ ...this.keySigner(name, caKeyTypeOf(new X509Certificate(certPem).publicKey)), certPem })
  }

  /** Logs in and finds the key: a wrong PIN or a missing key shows at start, not at the first signature. */
  check (uri: string): void {
    const name = parsePkcs11Uri(uri)
    const { module, session } = this.sessions.session(name.token)
    if (findOne(module, session, ck().CKO_PRIVATE_KEY, name) === undefined) throw new CertsError('CERTS_ERR_HSM_KEY_NOT_FOUND', `the token holds no private key ${uri}`)
  }

  close (): void {
    this.sessions.close()
  }

  private keySigner (name: Pkcs11KeyName, keyType: CaKeyType): KeySigner {
    const algorithm = SIGNATURE_ALGORITHMS[keyType]
    const sessions = this.sessions
    return Object.freeze({
      keyType,
      signatureOid: algorithm.oid,
      async sign (tbs: Buffer): Promise<Buffer> {
        const { module, session } = sessions.session(name.token)
        const key = findOne(module, session, ck().CKO_PRIVATE_KEY, name)
        if (key === undefined) throw new CertsError('CERTS_ERR_HSM_KEY_NOT_FOUND', 'the CA\'s key is no longer in its token')
        try {
          if (keyType === 'rsa') {
            module.C_SignInit(session, { mechanism: ck().CKM_SHA256_RSA_PKCS }, key)
            return Buffer.from(module.C_Sign(session, tbs, Buffer.alloc(1024)))
          }
          module.C_SignInit(session, { mechanism: ck().CKM_ECDSA }, key)
          const raw = module.C_Sign(session, createHash(algorithm.hash as string).update(tbs).digest(), Buffer.alloc(2 * 66))
          return ecdsaSigValue(raw)
        } catch (err) {
          sessions.forget(name.token)
          throw hsmError(err, 'signing')
        }
      }
    })
  }
}

/** The one object of that class the name selects; several is an ambiguous URI. */
function findOne (module: Pkcs11, session: Handle, objectClass: number, name: Pkcs11KeyName): Handle | undefined {
  const template = [{ type: ck().CKA_CLASS, value: objectClass }]
  if (name.object !== undefined) template.push({ type: ck().CKA_LABEL, value: name.object as unknown as number })
  if (name.id !== undefined) template.push({ type: ck().CKA_ID, value: name.id as unknown as number })
  let found: Handle[]
  try {
    module.C_FindObjectsInit(session, template)
    found = module.C_FindObjects(session, 2)
    module.C_FindObjectsFinal(session)
  } catch (err) { throw hsmError(err, 'looking up the CA key') }
  if (found.length > 1) throw new CertsError('CERTS_ERR_HSM_URI_INVALID', 'the PKCS#11 URI names more than one key: add id= or a unique object=')
  return found[0]
}

/** A key pair that never leaves the token: private, sensitive, not extractable (PKCS#11 3.0 4.9). */
function generate (module: Pkcs11, session: Handle, name: Pkcs11KeyName, keyType: CaKeyType): Handle {
  const label = name.object ?? `mqgate-ca-${(name.id as Buffer).toString('hex')}`
  const id = name.id ?? randomBytes(16)
  const common = [{ type: ck().CKA_TOKEN, value: true }, { type: ck().CKA_LABEL, value: label }, { type: ck().CKA_ID, value: id }]
  const publicTemplate = keyType === 'rsa'
    ? [{ type: ck().CKA_MODULUS_BITS, value: 2048 }, { type: ck().CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) }]
    : [{ type: ck().CKA_EC_PARAMS, value: oidDer(Object.keys(CURVE_OIDS).find(oid => CURVE_OIDS[oid].keyType === keyType) as string) }]
  try {
    const keys = module.C_GenerateKeyPair(session,
      { mechanism: keyType === 'rsa' ? ck().CKM_RSA_PKCS_KEY_PAIR_GEN : ck().CKM_EC_KEY_PAIR_GEN },
      [...common, { type: ck().CKA_VERIFY, value: true }, ...publicTemplate],
      [...common, { type: ck().CKA_PRIVATE, value: true }, { type: ck().CKA_SIGN, value: true }, { type: ck().CKA_SENSITIVE, value: true }, { type: ck().CKA_EXTRACTABLE, value: false }])
    return keys.publicKey
  } catch (err) { throw hsmError(err, 'generating the CA key') }
}

/** The SubjectPublicKeyInfo of a public key object, through Node's JWK import (RFC 7518 6.2, 6.3). */
function publicKeyPemOf (module: Pkcs11, session: Handle, key: Handle): string {
  const b64url = (b: Buffer): string => b.toString('base64url')
  try {
    const [type] = module.C_GetAttributeValue(session, key, [{ type: ck().CKA_KEY_TYPE }])
    if (ulong(type.value as Buffer) === ck().CKK_RSA) {
      const [n, e] = module.C_GetAttributeValue(session, key, [{ type: ck().CKA_MODULUS }, { type: ck().CKA_PUBLIC_EXPONENT }])
      return pem({ kty: 'RSA', n: b64url(n.value as Buffer), e: b64url(e.value as Buffer) })
    }
    const [params, point] = module.C_GetAttributeValue(session, key, [{ type: ck().CKA_EC_PARAMS }, { type: ck().CKA_EC_POINT }])
    const curve = CURVE_OIDS[asn1.derToOid(asn1.fromDer(forge.util.createBuffer((params.value as Buffer).toString('binary'))).value as string)]
    if (curve === undefined) throw new CertsError('CERTS_ERR_KEY_UNSUPPORTED', 'the token\'s key is on a curve other than P-256, P-384 or P-521')
    // CKA_EC_POINT is the DER OCTET STRING of the uncompressed point 04||x||y (X9.62; PKCS#11 3.0 2.3.3).
    const q = Buffer.from(asn1.fromDer(forge.util.createBuffer((point.value as Buffer).toString('binary'))).value as string, 'binary')
    if (q[0] !== 4 || q.length !== 1 + 2 * curve.size) throw new CertsError('CERTS_ERR_KEY_UNSUPPORTED', 'the token\'s EC point is not uncompressed')
    return pem({ kty: 'EC', crv: curve.crv, x: b64url(q.subarray(1, 1 + curve.size)), y: b64url(q.subarray(1 + curve.size)) })
  } catch (err) { throw err instanceof CertsError ? err : hsmError(err, 'reading the CA\'s public key') }
}

/** A CK_ULONG as the module returns it: native byte order, 4 or 8 octets. */
function ulong (value: Buffer): number {
  const le = endianness() === 'LE'
  return Number(value.length === 8 ? (le ? value.readBigUInt64LE() : value.readBigUInt64BE()) : (le ? value.readUInt32LE() : value.readUInt32BE()))
}

function pem (jwk: Record<string, string>): string {
  return createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString()
}

function oidDer (oid: string): Buffer {
  return Buffer.from(asn1.toDer(asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(oid).getBytes())).getBytes(), 'binary')
}

/** Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } from PKCS#11's r||s, through forge's big integers (minimal two's complement). */
export function ecdsaSigValue (raw: Buffer): Buffer {
  const half = raw.length / 2
  const integer = (bytes: Buffer): forge.asn1.Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false,
    String.fromCharCode(...new forge.jsbn.BigInteger(bytes.toString('hex'), 16).toByteArray().map(b => b & 0xff)))
  const seq = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [integer(raw.subarray(0, half)), integer(raw.subarray(half))])
  return Buffer.from(asn1.toDer(seq).getBytes(), 'binary')
}
