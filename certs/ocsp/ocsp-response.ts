import * as asn1js from 'asn1js'
import * as pkijs from 'pkijs'
import type { KeySigner } from '../signer.js'

/**
 * Builds OCSPResponses (RFC 6960 4.2.1) with pkijs. pkijs signs with WebCrypto
 * keys; mqgate's keys stay inside their KeySigner, so the ResponseData is
 * encoded here, signed by the signer, and the signature and its algorithm are
 * set on the BasicOCSPResponse by hand.
 */

/** OCSPResponseStatus (RFC 6960 4.2.1): 0 successful is `signedResponse`. */
export const OCSP_STATUS = Object.freeze({ malformedRequest: 1, internalError: 2, tryLater: 3, unauthorized: 6 })
export type OcspErrorStatus = typeof OCSP_STATUS[keyof typeof OCSP_STATUS]

const OID_PKIX_OCSP_BASIC = '1.3.6.1.5.5.7.48.1.1'

export type CertStatus =
  | { readonly kind: 'good' }
  /** `reason`: a CRLReason (RFC 5280 5.3.1), absent when none was recorded. */
  | { readonly kind: 'revoked', readonly revokedAt: Date, readonly reason?: number }
  | { readonly kind: 'unknown' }

export interface SingleStatus {
  readonly certId: pkijs.CertID
  readonly status: CertStatus
}

/** The delegated signer as a response needs it: its certificate (sent along) and what signs. */
export interface ResponderKey {
  readonly certDer: Buffer
  /** SHA-1 of its public key's BIT STRING: the ResponderID byKey (RFC 6960 4.2.2.3). */
  readonly keyHash: Buffer
  readonly signer: KeySigner
}

export interface ResponseTimes {
  readonly producedAt: Date
  readonly thisUpdate: Date
  readonly nextUpdate: Date
}

/** A signed, successful response with one SingleResponse per status, and the request's nonce if it had one. */
export async function signedResponse (statuses: readonly SingleStatus[], key: ResponderKey, times: ResponseTimes, nonce?: pkijs.Extension): Promise<Buffer> {
  const data = new pkijs.ResponseData({
    responderID: new asn1js.OctetString({ valueHex: key.keyHash }),
    producedAt: wholeSeconds(times.producedAt),
    responses: statuses.map(s => new pkijs.SingleResponse({
      certID: s.certId,
      certStatus: certStatusAsn1(s.status),
      thisUpdate: wholeSeconds(times.thisUpdate),
      nextUpdate: wholeSeconds(times.nextUpdate)
    })),
    ...(nonce === undefined ? {} : { responseExtensions: [nonce] })
  })
  const tbs = Buffer.from(data.toSchema(true).toBER())
  const signature = await key.signer.sign(tbs)
  const basic = new pkijs.BasicOCSPResponse({
    // Re-read, so that toSchema writes exactly the bytes that were signed.
    tbsResponseData: new pkijs.ResponseData({ schema: asn1js.fromBER(tbs).result }),
    signatureAlgorithm: algorithmIdentifier(key.signer.signatureOid),
    signature: new asn1js.BitString({ valueHex: signature }),
    certs: [pkijs.Certificate.fromBER(key.certDer)]
  })
  return responseOf(0, basic.toSchema().toBER())
}

/** An unsigned error response: a status and no responseBytes (RFC 6960 4.2.1). */
export function errorResponse (status: OcspErrorStatus): Buffer {
  return responseOf(status)
}

function responseOf (status: number, basicDer?: ArrayBuffer): Buffer {
  const response = new pkijs.OCSPResponse({
    responseStatus: new asn1js.Enumerated({ value: status }),
    ...(basicDer === undefined
      ? {}
      : { responseBytes: new pkijs.ResponseBytes({ responseType: OID_PKIX_OCSP_BASIC, response: new asn1js.OctetString({ valueHex: basicDer }) }) })
  })
  return Buffer.from(response.toSchema().toBER())
}

/** CertStatus ::= CHOICE { good [0] IMPLICIT NULL, revoked [1] IMPLICIT RevokedInfo, unknown [2] IMPLICIT NULL }. */
function certStatusAsn1 (status: CertStatus): asn1js.BaseBlock {
  if (status.kind !== 'revoked') return new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: status.kind === 'good' ? 0 : 2 } })
  // RevokedInfo ::= SEQUENCE { revocationTime GeneralizedTime, revocationReason [0] EXPLICIT CRLReason OPTIONAL }
  return new asn1js.Constructed({
    idBlock: { tagClass: 3, tagNumber: 1 },
    value: [
      new asn1js.GeneralizedTime({ valueDate: wholeSeconds(status.revokedAt) }),
      ...(status.reason === undefined ? [] : [new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [new asn1js.Enumerated({ value: status.reason })] })])
    ]
  })
}

/** RSA's AlgorithmIdentifier carries NULL parameters (RFC 4055 5); ECDSA's and Ed25519's none (RFC 5758 3.2, RFC 8410 3). */
function algorithmIdentifier (oid: string): pkijs.AlgorithmIdentifier {
  return new pkijs.AlgorithmIdentifier(oid.startsWith('1.2.840.113549.1.1.') ? { algorithmId: oid, algorithmParams: new asn1js.Null() } : { algorithmId: oid })
}

/** DER GeneralizedTime has no fractional zeros; whole seconds have no fraction at all (RFC 5280 4.1.2.5.2, as OCSP clients expect). */
function wholeSeconds (date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000)
}
