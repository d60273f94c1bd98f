import * as asn1js from 'asn1js'
import * as pkijs from 'pkijs'
import { CertsError } from '../errors.js'
import { normalizeSerial } from '../records.js'

/**
 * Reads an OCSPRequest (RFC 6960 4.1.1) with pkijs: the CertIDs asked about
 * and the nonce to echo. A request mqgate cannot read, or one that asks too
 * much, is CERTS_ERR_OCSP_MALFORMED (the responder answers malformedRequest).
 * A request's optional signature is not checked: the responder answers
 * anyone, as the CRL does.
 */

/** id-pkix-ocsp-nonce (RFC 6960 4.4.1). */
export const OID_OCSP_NONCE = '1.3.6.1.5.5.7.48.1.2'
/** RFC 8954 2.1: a nonce of 1 to 32 octets. */
const NONCE_MAX_OCTETS = 32
/** Each CertID asked is a status to look up and sign for: a bound on the work one request makes. */
export const MAX_CERT_IDS = 16

export interface RequestedCert {
  /** The CertID as the client sent it: the response echoes it (RFC 6960 4.2.1). */
  readonly certId: pkijs.CertID
  readonly hashOid: string
  readonly issuerNameHash: Buffer
  readonly issuerKeyHash: Buffer
  /** normalizeSerial form. */
  readonly serial: string
}

export interface OcspRequestFacts {
  readonly certs: readonly RequestedCert[]
  /** The nonce extension, echoed unchanged in the response's extensions. */
  readonly nonce?: pkijs.Extension
}

export function parseOcspRequest (der: Buffer): OcspRequestFacts {
  let request: pkijs.OCSPRequest
  try {
    const decoded = asn1js.fromBER(new Uint8Array(der))
    if (decoded.offset === -1 || decoded.offset !== der.length) throw new Error('not one DER value')
    request = new pkijs.OCSPRequest({ schema: decoded.result })
  } catch (err) {
    throw malformed('the OCSP request could not be decoded', err)
  }
  const list = request.tbsRequest.requestList
  if (list.length === 0 || list.length > MAX_CERT_IDS) throw malformed(`an OCSP request asks about 1 to ${MAX_CERT_IDS} certificates`)
  const certs = list.map(r => requestedCert(r.reqCert))
  const nonce = request.tbsRequest.requestExtensions?.find(e => e.extnID === OID_OCSP_NONCE)
  if (nonce !== undefined) checkNonce(nonce)
  return nonce === undefined ? { certs } : { certs, nonce }
}

/** The fields of a CertID the responder matches on. */
export function requestedCert (certId: pkijs.CertID): RequestedCert {
  const serial = Buffer.from(certId.serialNumber.valueBlock.valueHexView)
  if (serial.length === 0 || serial.length > 21) throw malformed('a CertID serial number of 1 to 20 octets')
  return {
    certId,
    hashOid: certId.hashAlgorithm.algorithmId,
    issuerNameHash: Buffer.from(certId.issuerNameHash.valueBlock.valueHexView),
    issuerKeyHash: Buffer.from(certId.issuerKeyHash.valueBlock.valueHexView),
    serial: normalizeSerial(serial.toString('hex'))
  }
}

/**
 * The nonce's value is an OCTET STRING inside extnValue (RFC 8954 2.1, as
 * OpenSSL sends it); a client that puts the octets there bare is measured as
 * it is. Too short or too long is refused rather than echoed.
 */
function checkNonce (extension: pkijs.Extension): void {
  const value = extension.extnValue.valueBlock.valueHexView
  const inner = asn1js.fromBER(value)
  const octets = inner.offset === value.byteLength && inner.result instanceof asn1js.OctetString
    ? inner.result.valueBlock.valueHexView.byteLength
    : value.byteLength
  if (octets < 1 || octets > NONCE_MAX_OCTETS) throw malformed(`a nonce of 1 to ${NONCE_MAX_OCTETS} octets (RFC 8954)`)
}

function malformed (message: string, cause?: unknown): CertsError {
  return new CertsError('CERTS_ERR_OCSP_MALFORMED', message, cause === undefined ? undefined : { cause })
}
