import { randomBytes, webcrypto } from 'node:crypto'
import * as asn1js from 'asn1js'
import * as pkijs from 'pkijs'

/** pkijs over Node's WebCrypto, passed to each call rather than set globally (another part may set its own). */
export const OCSP_ENGINE = new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as ConstructorParameters<typeof pkijs.CryptoEngine>[0]['crypto'] })

const ID_PE_AUTHORITY_INFO_ACCESS = '1.3.6.1.5.5.7.1.1'
/** RFC 6960 4.4.1: the nonce request extension, echoed by a responder that supports it. */
export const ID_PKIX_OCSP_NONCE = '1.3.6.1.5.5.7.48.1.2'
/** GeneralName uniformResourceIdentifier [6]. */
const GENERAL_NAME_URI = 6

/** A certificate decoded by pkijs (the OCSP structures are built from it). */
export function pkijsCertificate (der: Uint8Array): pkijs.Certificate {
  return pkijs.Certificate.fromBER(der)
}

/**
 * The OCSP responder a certificate names: the first http(s) URI of an
 * id-ad-ocsp access description in its Authority Information Access
 * extension (RFC 5280 4.2.2.1). Undefined when it names none.
 */
export function ocspUrlOf (certificate: pkijs.Certificate): string | undefined {
  const aia = certificate.extensions?.find(e => e.extnID === ID_PE_AUTHORITY_INFO_ACCESS)
  const parsed = aia?.parsedValue as pkijs.InfoAccess | undefined
  for (const description of parsed?.accessDescriptions ?? []) {
    if (description.accessMethod !== pkijs.id_ad_ocsp || description.accessLocation.type !== GENERAL_NAME_URI) continue
    const uri = String(description.accessLocation.value)
    if (/^https?:\/\//i.test(uri)) return uri
  }
  return undefined
}

export interface BuiltRequest {
  readonly der: Buffer
  readonly certId: pkijs.CertID
  readonly nonce: Buffer
}

/**
 * One request for one certificate. The CertID hashes with SHA-1, what
 * responders (`openssl ocsp` among them) index by when nothing else is
 * agreed (RFC 6960 4.3: clients and responders support SHA-1 CertIDs); the
 * nonce ties the answer to this request (4.4.1).
 */
export async function buildOcspRequest (certificate: pkijs.Certificate, issuer: pkijs.Certificate): Promise<BuiltRequest> {
  const request = new pkijs.OCSPRequest()
  await request.createForCertificate(certificate, { hashAlgorithm: 'SHA-1', issuerCertificate: issuer }, OCSP_ENGINE)
  const nonce = randomBytes(16)
  request.tbsRequest.requestExtensions = [new pkijs.Extension({
    extnID: ID_PKIX_OCSP_NONCE,
    extnValue: new asn1js.OctetString({ valueHex: nonce }).toBER()
  })]
  const certId = request.tbsRequest.requestList[0].reqCert
  return { der: Buffer.from(request.toSchema(true).toBER()), certId, nonce }
}
