import * as asn1js from 'asn1js'
import * as pkijs from 'pkijs'
import { ID_PKIX_OCSP_NONCE, OCSP_ENGINE, type BuiltRequest } from './ocsp-request.js'

/** What a verified response says of one certificate (RFC 6960 2.2). */
export interface OcspAnswer {
  readonly status: 'good' | 'revoked' | 'unknown'
  readonly thisUpdate: Date
  readonly nextUpdate?: Date
  readonly revokedAt?: Date
}

/** Why a response cannot be used: it proves nothing either way. */
export class OcspResponseError extends Error {
  override readonly name = 'OcspResponseError'
}

/** How far a responder's clock may run ahead of ours before its thisUpdate is refused. */
const CLOCK_SKEW_MS = 5 * 60_000
const CERT_STATUS = ['good', 'revoked', 'unknown'] as const

/**
 * Decodes a responder's answer and accepts it only if it is for this
 * request: a successful basic response (4.2.1), signed by the certificate's
 * issuer or by a responder that issuer delegated with id-kp-OCSPSigning
 * (4.2.2.2, pkijs' verify), holding a SingleResponse for this CertID, current
 * (thisUpdate not ahead, nextUpdate not past: 4.2.2.1), and echoing our nonce
 * if it echoes one.
 */
export async function readOcspResponse (der: Buffer, request: BuiltRequest, issuer: pkijs.Certificate, now: Date): Promise<OcspAnswer> {
  const basic = basicResponseOf(der)
  if (!await signedForIssuer(basic, issuer)) throw new OcspResponseError('the response signature does not verify against its signer')
  const single = basic.tbsResponseData.responses.find(r => r.certID.isEqual(request.certId))
  if (single === undefined) throw new OcspResponseError('the response holds no answer for the certificate asked about')
  checkNonce(basic, request.nonce)
  if (single.thisUpdate.getTime() > now.getTime() + CLOCK_SKEW_MS) throw new OcspResponseError('the response\'s thisUpdate is in the future')
  if (single.nextUpdate !== undefined && single.nextUpdate.getTime() < now.getTime()) throw new OcspResponseError('the response\'s nextUpdate has passed')
  return answerOf(single)
}

function basicResponseOf (der: Buffer): pkijs.BasicOCSPResponse {
  let response: pkijs.OCSPResponse
  try {
    response = pkijs.OCSPResponse.fromBER(der)
  } catch {
    throw new OcspResponseError('the responder\'s answer is not an OCSP response')
  }
  const status = response.responseStatus.valueBlock.valueDec
  if (status !== 0) throw new OcspResponseError(`the responder answered status ${status} (RFC 6960 4.2.1: not successful)`)
  if (response.responseBytes?.responseType !== pkijs.id_PKIX_OCSP_Basic) throw new OcspResponseError('the response is not a basic OCSP response')
  try {
    return pkijs.BasicOCSPResponse.fromBER(response.responseBytes.response.valueBlock.valueHexView)
  } catch {
    throw new OcspResponseError('the basic OCSP response cannot be decoded')
  }
}

async function signedForIssuer (basic: pkijs.BasicOCSPResponse, issuer: pkijs.Certificate): Promise<boolean> {
  // A CA signing its own answers need not attach its certificate (RFC 6960 4.2.1: certs is
  // OPTIONAL), and pkijs looks for the signer only among the attached ones: the issuer is
  // added as a candidate. That authorises no one else: the signature and the ResponderID
  // must still be the issuer's, or a delegate's certificate must be attached.
  basic.certs = [...(basic.certs ?? []), issuer]
  try {
    return await basic.verify({ trustedCerts: [issuer], issuerCerts: [issuer] }, OCSP_ENGINE)
  } catch (err) {
    // pkijs throws for an unauthorised signer (not the issuer, no delegation) and an unknown algorithm.
    throw new OcspResponseError(`the response signer is not authorised for this CA: ${(err as Error).message}`)
  }
}

function checkNonce (basic: pkijs.BasicOCSPResponse, nonce: Buffer): void {
  const echoed = basic.tbsResponseData.responseExtensions?.find(e => e.extnID === ID_PKIX_OCSP_NONCE)
  if (echoed === undefined) return
  const value = Buffer.from(echoed.extnValue.valueBlock.valueHexView)
  // The extension's value is the OCTET STRING we sent (4.4.1); some responders send the bare bytes.
  const inner = asn1js.fromBER(value)
  const bytes = inner.offset !== -1 && inner.result instanceof asn1js.OctetString ? Buffer.from(inner.result.valueBlock.valueHexView) : value
  if (!bytes.equals(nonce)) throw new OcspResponseError('the response echoes another request\'s nonce')
}

function answerOf (single: pkijs.SingleResponse): OcspAnswer {
  const status = CERT_STATUS[(single.certStatus as asn1js.BaseBlock).idBlock.tagNumber]
  if (status === undefined) throw new OcspResponseError('the response\'s certificate status is malformed')
  const revokedAt = status === 'revoked' ? revocationTimeOf(single.certStatus) : undefined
  return { status, thisUpdate: single.thisUpdate, ...(single.nextUpdate === undefined ? {} : { nextUpdate: single.nextUpdate }), ...(revokedAt === undefined ? {} : { revokedAt }) }
}

function revocationTimeOf (certStatus: unknown): Date | undefined {
  const first = (certStatus as asn1js.Constructed).valueBlock?.value?.[0]
  return first instanceof asn1js.GeneralizedTime ? first.toDate() : undefined
}
