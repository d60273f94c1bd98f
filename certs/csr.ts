import { createPublicKey, verify } from 'node:crypto'
import { isIP } from 'node:net'
import forge from 'node-forge'
import { forgePlaceholderKey, signStructureWithKey, spkiAsn1, toPem, VERIFY_HASHES } from './asn1-signing.js'
import { decodeDirectoryString } from './certificate-facts.js'
import { CertsError } from './errors.js'

/**
 * Certificate signing requests (PKCS#10, RFC 2986) for any key Node handles:
 * node-forge assembles and reads the ASN.1, Node's crypto signs and verifies.
 */

type Asn1 = forge.asn1.Asn1

/** A CSR for `commonName` with the SANs (DNS names, IPs as iPAddress), signed by the key. */
export function createCsr (keyPem: string, commonName: string, sans: readonly string[]): string {
  const csr = forge.pki.createCertificationRequest()
  csr.publicKey = forgePlaceholderKey()
  csr.setSubject([{ shortName: 'CN', value: commonName }])
  if (sans.length > 0) {
    csr.setAttributes([{
      name: 'extensionRequest',
      extensions: [{ name: 'subjectAltName', altNames: sans.map(name => isIP(name) === 0 ? { type: 2, value: name } : { type: 7, ip: name }) }]
    }])
  }
  const info = (forge.pki as unknown as { getCertificationRequestInfo: (c: forge.pki.CertificateSigningRequest) => Asn1 }).getCertificationRequestInfo(csr)
  // CertificationRequestInfo: version, subject, subjectPKInfo, [0] attributes
  ;(info.value as Asn1[])[2] = spkiAsn1(readKeyPem(keyPem))
  return toPem(signStructureWithKey(info, keyPem), 'CERTIFICATE REQUEST')
}

export interface CsrFacts {
  readonly publicKeyPem: string
  /** The CN the requester put in the subject, if any. */
  readonly commonName?: string
}

/** Decodes a CSR and checks its self-signature (proof that the requester holds the key). */
export function readCsr (pem: string): CsrFacts {
  const [info, algorithm, signature] = parse(pem)
  let publicKeyPem: string
  let hash: string | null | undefined
  try {
    const spki = Buffer.from(forge.asn1.toDer((info.value as Asn1[])[2]).getBytes(), 'binary')
    publicKeyPem = createPublicKey({ key: spki, format: 'der', type: 'spki' }).export({ type: 'spki', format: 'pem' }).toString()
    hash = VERIFY_HASHES[forge.asn1.derToOid((algorithm.value as Asn1[])[0].value as string)]
  } catch (err) {
    throw new CertsError('CERTS_ERR_KEY_UNSUPPORTED', 'the CSR\'s key is of a type that cannot be read', { cause: err })
  }
  if (hash === undefined) throw new CertsError('CERTS_ERR_KEY_UNSUPPORTED', 'the CSR is signed with an unsupported algorithm')
  const bits = Buffer.from(signature.value as string, 'binary')
  const signed = Buffer.from(forge.asn1.toDer(info).getBytes(), 'binary')
  if (bits[0] !== 0 || !verifies(hash, signed, publicKeyPem, bits.subarray(1))) {
    throw new CertsError('CERTS_ERR_CSR_SIGNATURE', 'the CSR\'s signature does not verify')
  }
  const commonName = commonNameOf((info.value as Asn1[])[1])
  return commonName === undefined ? { publicKeyPem } : { publicKeyPem, commonName }
}

/**
 * The subject Name a CSR's requester wrote (RFC 2986 4: certificationRequestInfo's
 * second field), without checking the signature: for a CSR already on the record.
 */
export function csrSubjectName (pem: string): Asn1 {
  return (parse(pem)[0].value as Asn1[])[1]
}

function parse (pem: string): [Asn1, Asn1, Asn1] {
  try {
    const body = /-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----([\s\S]+?)-----END (?:NEW )?CERTIFICATE REQUEST-----/.exec(pem)
    if (body === null) throw new Error('no CERTIFICATE REQUEST block')
    const fromDer = forge.asn1.fromDer as unknown as (bytes: forge.util.ByteStringBuffer, options: object) => Asn1
    const request = fromDer(forge.util.createBuffer(Buffer.from(body[1].replace(/\s+/g, ''), 'base64').toString('binary')), { strict: true, parseAllBytes: true, decodeBitStrings: false })
    const [info, algorithm, signature] = request.value as Asn1[]
    if (info === undefined || algorithm === undefined || signature?.type !== forge.asn1.Type.BITSTRING) throw new Error('not a CertificationRequest')
    return [info, algorithm, signature]
  } catch (err) {
    throw new CertsError('CERTS_ERR_CSR_UNPARSABLE', 'the CSR could not be decoded', { cause: err })
  }
}

function verifies (hash: string | null, data: Buffer, keyPem: string, signature: Buffer): boolean {
  try {
    return verify(hash, data, keyPem, signature)
  } catch {
    return false
  }
}

function commonNameOf (name: Asn1): string | undefined {
  for (const rdn of name.value as Asn1[]) {
    for (const attribute of rdn.value as Asn1[]) {
      const [oid, value] = attribute.value as Asn1[]
      if (forge.asn1.derToOid(oid.value as string) === '2.5.4.3') return decodeDirectoryString(value)
    }
  }
  return undefined
}

function readKeyPem (keyPem: string): string {
  try {
    createPublicKey(keyPem)
    return keyPem
  } catch (err) {
    throw new CertsError('CERTS_ERR_KEY_UNPARSABLE', 'the key could not be decoded', { cause: err })
  }
}
