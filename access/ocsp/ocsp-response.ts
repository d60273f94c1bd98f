import { X509Certificate } from 'node:crypto'
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
/**
 * An answer without nextUpdate says newer information is always available
 * (RFC 6960 4.2.2.1), so it speaks for the moment it was made: one older than
 * this (a replay of a pre-signed answer that echoes no nonce, from before a
 * revocation) is not the responder's word now.
 */
const MAX_AGE_WITHOUT_NEXT_UPDATE_MS = 24 * 60 * 60_000
const CERT_STATUS = ['good', 'revoked', 'unknown'] as const

/**
 * Decodes a responder's answer and accepts it only if it is for this
 * request: a successful basic response (4.2.1), signed by the certificate's
 * issuer or by a responder that issuer delegated with id-kp-OCSPSigning
 * (4.2.2.2), holding a SingleResponse for this CertID, current
 * (thisUpdate not ahead, nextUpdate not past: 4.2.2.1; without nextUpdate,
 * thisUpdate within a day), and echoing our nonce if it echoes one.
 */
export async function readOcspResponse (der: Buffer, request: BuiltRequest, issuer: pkijs.Certificate, now: Date): Promise<OcspAnswer> {
  const basic = basicResponseOf(der)
  if (!await signedForIssuer(basic, issuer, now)) throw new OcspResponseError('the response signature does not verify against its signer')
  const single = basic.tbsResponseData.responses.find(r => r.certID.isEqual(request.certId))
  if (single === undefined) throw new OcspResponseError('the response holds no answer for the certificate asked about')
  checkNonce(basic, request.nonce)
  if (single.thisUpdate.getTime() > now.getTime() + CLOCK_SKEW_MS) throw new OcspResponseError('the response\'s thisUpdate is in the future')
  if (single.nextUpdate !== undefined && single.nextUpdate.getTime() < now.getTime()) throw new OcspResponseError('the response\'s nextUpdate has passed')
  if (single.nextUpdate === undefined && single.thisUpdate.getTime() < now.getTime() - MAX_AGE_WITHOUT_NEXT_UPDATE_MS) {
    throw new OcspResponseError('the response has no nextUpdate and a thisUpdate more than a day old')
  }
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

/**
 * RFC 6960 4.2.2.2: the answer is signed by the issuing CA itself, or by a
 * responder certificate that CA issued with extendedKeyUsage OCSPSigning,
 * attached to the answer. Which certificates may sign is decided here (the
 * issuer may be an uploaded intermediate, with no root at hand for a chain
 * validation); pkijs then checks that one of them did, against its key.
 */
async function signedForIssuer (basic: pkijs.BasicOCSPResponse, issuer: pkijs.Certificate, now: Date): Promise<boolean> {
  const issuerX509 = new X509Certificate(Buffer.from(issuer.toSchema().toBER(false)))
  const delegates = (basic.certs ?? []).filter(c => isDelegatedBy(new X509Certificate(Buffer.from(c.toSchema().toBER(false))), issuerX509, now))
  // A CA signing its own answers need not attach its certificate (4.2.1: certs is OPTIONAL).
  basic.certs = [...(basic.certs ?? []), issuer]
  try {
    return await basic.verify({ issuerCerts: [issuer], trustedResponders: [issuer, ...delegates] }, OCSP_ENGINE)
  } catch (err) {
    // pkijs throws when no authorised certificate matches the ResponderID, and for an unknown algorithm.
    throw new OcspResponseError(`the response signer is not authorised for this CA: ${(err as Error).message}`)
  }
}

/** A responder certificate `issuer` signed, for OCSPSigning, valid now. */
function isDelegatedBy (candidate: X509Certificate, issuer: X509Certificate, now: Date): boolean {
  return candidate.checkIssued(issuer) &&
    candidate.verify(issuer.publicKey) &&
    (candidate.keyUsage ?? []).includes(ID_KP_OCSP_SIGNING) &&
    new Date(candidate.validFrom) <= now && now <= new Date(candidate.validTo)
}

const ID_KP_OCSP_SIGNING = '1.3.6.1.5.5.7.3.9'

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
