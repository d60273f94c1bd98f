import type { X509Certificate } from 'node:crypto'
import * as pkijs from 'pkijs'
import { CertsError } from '../errors.js'

const CRL_DISTRIBUTION_POINTS = '2.5.29.31'
/** GeneralName ::= CHOICE { ..., uniformResourceIdentifier [6] IA5String, ... } */
const URI = 6

/**
 * The http(s) URLs of a certificate's CRL Distribution Points extension
 * (RFC 5280 4.2.1.13): each DistributionPoint's fullName URIs, in order.
 * ldap: and other schemes are left out: mqgate fetches over HTTP only.
 */
export function crlUrlsOf (cert: X509Certificate): string[] {
  let parsed: pkijs.Certificate
  try {
    parsed = pkijs.Certificate.fromBER(new Uint8Array(cert.raw))
  } catch (err) {
    throw new CertsError('CERTS_ERR_CERT_UNPARSABLE', 'the certificate could not be decoded', { cause: err })
  }
  const extension = parsed.extensions?.find(e => e.extnID === CRL_DISTRIBUTION_POINTS)
  const points = (extension?.parsedValue as pkijs.CRLDistributionPoints | undefined)?.distributionPoints ?? []
  return points.flatMap(point => {
    const names = Array.isArray(point.distributionPoint) ? point.distributionPoint as pkijs.GeneralName[] : []
    return names.filter(n => n.type === URI && typeof n.value === 'string' && /^https?:\/\//i.test(n.value)).map(n => n.value as string)
  })
}
