import { createHash, createPrivateKey, X509Certificate } from 'node:crypto'
import type { Logger } from 'pino'
import { subjectKeyIdentifier } from '../asn1-signing.js'
import { CertsError } from '../errors.js'
import { issue, orgAuthority } from '../issuance.js'
import type { OrgRegistry } from '../org-registry.js'
import { managedCaOf, type CaRecord } from '../records.js'
import { keySigner } from '../signer.js'
import type { ResponderKey } from './ocsp-response.js'

/**
 * Each managed CA's delegated OCSP signer (RFC 6960 4.2.2.2): a P-256 key and
 * a 30-day certificate with id-kp-OCSPSigning, issued by the CA through the
 * one issuance path (recorded in `issued` as kind `ocsp-signer`, audited),
 * so that the CA's own key signs once a month, not every response (and, for a
 * CA in a PKCS#11 token, the token is not asked at each request). Both are
 * kept on the CA's record, the key sealed under the KEK like every key field.
 *
 * It is made on first use and renewed on use once less than a third of its
 * validity remains, or at once when an operator revoked it (`cert revoke`:
 * a signer whose key is thought lost is replaced by the next response, its
 * certificate having no revocation check of its own, RFC 6960 4.2.2.2.1). Two processes that renew at once each issue one: both
 * are valid certificates of the CA, the record keeps the last written, and a
 * response signed by the other still verifies. A failed issue is not tried
 * again for 30 s: the responses meanwhile are signed by the current signer if
 * it is still valid, and are internalError otherwise.
 */

export interface ResponderSigner extends ResponderKey {
  readonly certPem: string
  /** SHA-256 of the certificate, as revocations name it. */
  readonly fingerprint: string
  readonly notBefore: Date
  readonly notAfter: Date
}

const ACTOR = 'system:ocsp'
/**
 * After a failed issue, none is tried for this long: the PKI port is public,
 * and a CA that cannot sign (its token away) would otherwise be asked, with
 * a new key pair and an error line, at every request.
 */
const RETRY_AFTER_FAILURE_MS = 30_000

export class OcspSigners {
  private readonly made = new WeakMap<CaRecord, ResponderSigner>()
  private readonly renewing = new Map<string, Promise<ResponderSigner>>()
  private readonly failed = new Map<string, { readonly at: number, readonly err: unknown }>()

  constructor (private readonly registry: OrgRegistry, private readonly log: Logger) {}

  /** The organisation's signer, issued or renewed first when it must be. */
  async current (orgId: string, now = new Date()): Promise<ResponderSigner> {
    const state = this.registry.require(orgId)
    const kept = this.stored(managedCaOf(state))
    const stored = kept !== undefined && state.revocations.some(r => r.fingerprint === kept.fingerprint) ? undefined : kept
    if (stored !== undefined && !isDue(stored, now)) return stored
    try {
      return await this.renewal(orgId, now)
    } catch (err) {
      // A signer that is due but still valid keeps answering while the CA cannot sign (a token away).
      if (stored !== undefined && stored.notAfter.getTime() > now.getTime()) return stored
      throw new CertsError('CERTS_ERR_OCSP_NO_SIGNER', `organisation ${orgId} has no usable OCSP signer`, { cause: err })
    }
  }

  /** The issue under way, or a new one; within RETRY_AFTER_FAILURE_MS of a failed one, that failure again. */
  private async renewal (orgId: string, now: Date): Promise<ResponderSigner> {
    const failure = this.failed.get(orgId)
    if (failure !== undefined && now.getTime() - failure.at < RETRY_AFTER_FAILURE_MS) throw failure.err
    let renewal = this.renewing.get(orgId)
    if (renewal === undefined) {
      renewal = this.renew(orgId).then(signer => {
        this.failed.delete(orgId)
        return signer
      }, err => {
        this.failed.set(orgId, { at: now.getTime(), err })
        this.log.error({ event: 'ocsp.signer-renewal-failed', orgId, err }, `the OCSP signer could not be issued; tried again in ${RETRY_AFTER_FAILURE_MS / 1000} s (a current one, if any, signs until it expires)`)
        throw err
      }).finally(() => this.renewing.delete(orgId))
      this.renewing.set(orgId, renewal)
    }
    return await renewal
  }

  /** The signer on the CA's record, if it is one of this CA's and still usable. */
  private stored (ca: CaRecord): ResponderSigner | undefined {
    const cached = this.made.get(ca)
    if (cached !== undefined) return cached
    if (ca.ocspSignerCertPem === undefined || ca.ocspSignerKeyPem === undefined) return undefined
    const cert = new X509Certificate(ca.ocspSignerCertPem)
    // The CA's key changes with no signer record written (a restore of another backup): a signer it did not sign is no signer.
    if (!cert.verify(new X509Certificate(ca.certPem).publicKey)) return undefined
    const signer = signerOf(ca.ocspSignerCertPem, ca.ocspSignerKeyPem)
    this.made.set(ca, signer)
    return signer
  }

  private async renew (orgId: string): Promise<ResponderSigner> {
    const issued = await issue(orgAuthority(this.registry, orgId), { kind: 'ocsp-signer', profile: 'ocsp-signer', names: [`mqgate ${orgId} OCSP signer`], keyType: 'ec' }, ACTOR)
    const keyPem = issued.keyPem as string
    // Re-read: the record may have changed while the CA signed.
    const ca = managedCaOf(this.registry.require(orgId))
    await this.registry.store.put(orgId, 'cas', { ...ca, ocspSignerCertPem: issued.record.certPem, ocspSignerKeyPem: keyPem })
    this.registry.audit(ACTOR, 'ca.ocsp-signer', orgId, { caId: ca.id, certId: issued.record.id, serial: issued.record.serial, fingerprint: issued.record.fingerprint, expiresOn: issued.record.expiresOn })
    await this.registry.reload(orgId)
    return signerOf(issued.record.certPem, keyPem)
  }
}

function signerOf (certPem: string, keyPem: string): ResponderSigner {
  const cert = new X509Certificate(certPem)
  return {
    certPem,
    certDer: cert.raw,
    fingerprint: createHash('sha256').update(cert.raw).digest('hex'),
    keyHash: subjectKeyIdentifier(certPem),
    signer: keySigner(createPrivateKey(keyPem)),
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo)
  }
}

/** Renewal is due once less than a third of the validity remains (10 of 30 days). */
function isDue (signer: ResponderSigner, now: Date): boolean {
  const to = signer.notAfter.getTime()
  return to - now.getTime() < (to - signer.notBefore.getTime()) / 3
}
