import { createHash } from 'node:crypto'
import * as asn1js from 'asn1js'
import forge from 'node-forge'
import * as pkijs from 'pkijs'
import { subjectNameAsn1 } from '../asn1-signing.js'
import type { RequestedCert } from './ocsp-request.js'

/**
 * Whether a CertID names a CA (RFC 6960 4.1.1): issuerNameHash is the hash of
 * the CA's subject Name as encoded in its certificate, issuerKeyHash the hash
 * of its subjectPublicKey BIT STRING's value, both with the CertID's own
 * hashAlgorithm. SHA-1 (what OpenSSL and RFC 5019 clients send) and the SHA-2
 * family are recognised; any other algorithm matches no CA.
 */

const HASHES: Readonly<Record<string, string>> = Object.freeze({
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512'
})

/** OID of SHA-1: the CertID hash of the stapled responses, which clients build their own CertID with by default. */
export const OID_SHA1 = '1.3.14.3.2.26'

export interface IssuerIdentity {
  readonly name: Buffer
  readonly key: Buffer
}

const identities = new Map<string, IssuerIdentity>()

/** The CA's encoded subject and public key bits (computed once per CA certificate). */
export function issuerIdentityOf (caCertPem: string): IssuerIdentity {
  let identity = identities.get(caCertPem)
  if (identity === undefined) {
    const name = Buffer.from(forge.asn1.toDer(subjectNameAsn1(caCertPem)).getBytes(), 'binary')
    const cert = pkijs.Certificate.fromBER(Buffer.from(caCertPem.replace(/-----[^-]+-----|\s/g, ''), 'base64'))
    identity = { name, key: Buffer.from(cert.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView) }
    identities.set(caCertPem, identity)
  }
  return identity
}

export function namesIssuer (requested: RequestedCert, issuer: IssuerIdentity): boolean {
  const hash = HASHES[requested.hashOid]
  if (hash === undefined) return false
  return createHash(hash).update(issuer.name).digest().equals(requested.issuerNameHash) &&
    createHash(hash).update(issuer.key).digest().equals(requested.issuerKeyHash)
}

/** A SHA-1 CertID for a certificate of that CA (a stapled response answers one the server made itself). */
export function certIdFor (serialNumber: asn1js.Integer, issuer: IssuerIdentity): pkijs.CertID {
  return new pkijs.CertID({
    hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID_SHA1, algorithmParams: new asn1js.Null() }),
    issuerNameHash: new asn1js.OctetString({ valueHex: createHash('sha1').update(issuer.name).digest() }),
    issuerKeyHash: new asn1js.OctetString({ valueHex: createHash('sha1').update(issuer.key).digest() }),
    serialNumber
  })
}
