import { createPrivateKey, webcrypto, X509Certificate } from 'node:crypto'
import type http from 'node:http'
import * as asn1js from 'asn1js'
import * as pkijs from 'pkijs'

/**
 * OCSP answers made by the test with pkijs, signed with the CA's own key, to
 * give the client what `openssl ocsp` never sends: a stale answer, one from
 * the future, another request's nonce, another certificate's CertID.
 */
export interface Tweaks {
  readonly thisUpdate?: Date
  readonly nextUpdate?: Date
  readonly nonce?: Buffer
  /** Answer for this serial instead of the one asked about. */
  readonly serial?: number
  /** No nextUpdate (RFC 6960 4.2.2.1: newer information is always available), and no nonce echoed, as a pre-signed answer replayed. */
  readonly replayed?: boolean
}

const engine = new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as ConstructorParameters<typeof pkijs.CryptoEngine>[0]['crypto'] })
const NONCE = '1.3.6.1.5.5.7.48.1.2'

/** A request handler answering `good`, signed by `ca` (a P-256 CA as openssl-chain.ts makes them), with `tweaks` applied. */
export function craftedResponder (ca: { certPem: string, keyPem: string }, tweaks: Tweaks = {}): http.RequestListener {
  return (request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.once('end', () => {
      answer(ca, Buffer.concat(chunks), tweaks).then(
        der => { response.writeHead(200, { 'content-type': 'application/ocsp-response' }); response.end(der) },
        () => response.destroy())
    })
  }
}

async function answer (ca: { certPem: string, keyPem: string }, body: Buffer, tweaks: Tweaks): Promise<Buffer> {
  const asked = pkijs.OCSPRequest.fromBER(body)
  const certId = asked.tbsRequest.requestList[0].reqCert
  const issuer = pkijs.Certificate.fromBER(new X509Certificate(ca.certPem).raw)
  const basic = new pkijs.BasicOCSPResponse()
  basic.tbsResponseData.responderID = issuer.subject
  basic.tbsResponseData.producedAt = new Date()
  const single = new pkijs.SingleResponse({
    certID: tweaks.serial === undefined
      ? certId
      : new pkijs.CertID({ hashAlgorithm: certId.hashAlgorithm, issuerNameHash: certId.issuerNameHash, issuerKeyHash: certId.issuerKeyHash, serialNumber: new asn1js.Integer({ value: tweaks.serial }) }),
    thisUpdate: tweaks.thisUpdate ?? new Date(Date.now() - 60_000),
    ...(tweaks.replayed === true ? {} : { nextUpdate: tweaks.nextUpdate ?? new Date(Date.now() + 60_000) })
  })
  // CertStatus good: [0] IMPLICIT NULL (RFC 6960 4.2.1).
  single.certStatus = new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 } })
  basic.tbsResponseData.responses.push(single)
  const sent = asked.tbsRequest.requestExtensions?.find(e => e.extnID === NONCE)
  const nonce = tweaks.nonce === undefined ? (sent === undefined ? undefined : Uint8Array.from(sent.extnValue.valueBlock.valueHexView).buffer) : new asn1js.OctetString({ valueHex: tweaks.nonce }).toBER()
  if (nonce !== undefined && tweaks.replayed !== true) basic.tbsResponseData.responseExtensions = [new pkijs.Extension({ extnID: NONCE, extnValue: nonce })]
  const pkcs8 = createPrivateKey(ca.keyPem).export({ type: 'pkcs8', format: 'der' })
  const key = await webcrypto.subtle.importKey('pkcs8', pkcs8, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign'])
  await basic.sign(key as unknown as Parameters<pkijs.BasicOCSPResponse['sign']>[0], 'SHA-256', engine)
  const ocsp = new pkijs.OCSPResponse({
    responseStatus: new asn1js.Enumerated({ value: 0 }),
    responseBytes: new pkijs.ResponseBytes({ responseType: pkijs.id_PKIX_OCSP_Basic, response: new asn1js.OctetString({ valueHex: basic.toSchema().toBER(false) }) })
  })
  return Buffer.from(ocsp.toSchema().toBER(false))
}
