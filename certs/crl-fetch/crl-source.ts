import { uploadedCa } from '../ca-admin.js'
import { readSingleCertificate } from '../certificate-input.js'
import { CertsError } from '../errors.js'
import type { Actor, OrgRegistry } from '../org-registry.js'
import type { CaRecord, CrlSourceRecord } from '../records.js'
import { crlUrlsOf } from './distribution-points.js'

/** The fetch interval's bounds: a second (tests, a CA's own lab) to a week (past any CRL's usual nextUpdate). */
export const CRL_SOURCE_EVERY = Object.freeze({ min: 1, max: 7 * 24 * 3600, default: 3600 })

export interface CrlSourceRequest {
  /** The operator's http(s) URL. */
  readonly url?: string
  /** Take the URL from a certificate's CRL Distribution Points: the CA's own, or `certificate`'s (one of its devices). */
  readonly fromCertificate?: boolean
  readonly certificate?: string | Buffer
  readonly everySeconds?: number
}

/**
 * `ca crl-source`: the gateway fetches the uploaded CA's CRL from then on
 * (crl-fetcher.ts), applying each new one as an uploaded CRL. Managed CAs
 * publish their own CRL: CERTS_ERR_CA_MANAGED.
 */
export async function setCrlSource (registry: OrgRegistry, orgId: string, caId: string, request: CrlSourceRequest, actor: Actor): Promise<CaRecord> {
  const ca = uploadedCa(registry, orgId, caId)
  const everySeconds = request.everySeconds ?? CRL_SOURCE_EVERY.default
  if (!Number.isInteger(everySeconds) || everySeconds < CRL_SOURCE_EVERY.min || everySeconds > CRL_SOURCE_EVERY.max) {
    throw new CertsError('CERTS_ERR_CRL_SOURCE_INVALID', `the fetch interval must be ${CRL_SOURCE_EVERY.min} s to ${CRL_SOURCE_EVERY.max} s (7 days)`)
  }
  const fromCertificate = request.fromCertificate === true
  if (fromCertificate === (request.url !== undefined)) throw new CertsError('CERTS_ERR_CRL_SOURCE_INVALID', 'give either a URL or "from certificate"')
  const url = fromCertificate ? urlFromCertificate(ca, request.certificate) : request.url as string
  if (!isHttpUrl(url)) throw new CertsError('CERTS_ERR_CRL_SOURCE_INVALID', 'the CRL source must be an http:// or https:// URL')
  const source: CrlSourceRecord = { url, fromCertificate, everySeconds, setAt: new Date().toISOString() }
  const updated: CaRecord = { ...ca, crlSource: source }
  await registry.store.put(orgId, 'cas', updated)
  registry.audit(actor, 'ca.crl-source', orgId, { caId, fingerprint: ca.fingerprint, url: redactedUrl(url), fromCertificate, everySeconds })
  await registry.reload(orgId)
  return updated
}

/** `ca crl-source --off`: no more fetching; the CRL loaded last stays. */
export async function clearCrlSource (registry: OrgRegistry, orgId: string, caId: string, actor: Actor): Promise<CaRecord> {
  const { crlSource: _dropped, ...rest } = uploadedCa(registry, orgId, caId)
  await registry.store.put(orgId, 'cas', rest)
  registry.audit(actor, 'ca.crl-source-off', orgId, { caId, fingerprint: rest.fingerprint })
  await registry.reload(orgId)
  return rest
}

/**
 * The first http(s) distribution point of the CA certificate, or of a device
 * certificate the CA signed (a CA's own certificate often names its parent's
 * CRL, or none: the devices' name the CA's).
 */
function urlFromCertificate (ca: CaRecord, certificate: string | Buffer | undefined): string {
  const caCert = readSingleCertificate(ca.certPem).x509
  let cert = caCert
  if (certificate !== undefined) {
    cert = readSingleCertificate(certificate).x509
    if (!cert.checkIssued(caCert) || !cert.verify(caCert.publicKey)) throw new CertsError('CERTS_ERR_CRL_SOURCE_INVALID', 'that certificate was not signed by this CA')
  }
  const url = crlUrlsOf(cert)[0]
  if (url === undefined) throw new CertsError('CERTS_ERR_CRL_SOURCE_INVALID', 'the certificate names no http(s) CRL distribution point: give --url')
  return url
}

function isHttpUrl (text: string): boolean {
  try {
    const url = new URL(text)
    return (url.protocol === 'http:' || url.protocol === 'https:') && text.length <= 2048
  } catch {
    return false
  }
}

/** A URL for a log line: without any user:password part. */
export function redactedUrl (text: string): string {
  try {
    const url = new URL(text)
    url.username = ''
    url.password = ''
    return url.href
  } catch {
    return '(not a URL)'
  }
}
