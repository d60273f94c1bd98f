import { findCa } from './ca-admin.js'
import { CertsError } from './errors.js'
import type { Actor, OrgRegistry } from './org-registry.js'
import type { CaRecord } from './records.js'

/**
 * `ca ocsp on|off`: whether the devices of an uploaded CA are checked against
 * the OCSP responder their certificates name (RFC 6960), on top of its CRL.
 * When the responder cannot answer, the CA's CRL policy decides
 * (crl-policy.ts): open admits, closed refuses.
 */
export async function setOcspCheck (registry: OrgRegistry, orgId: string, caId: string, enabled: boolean, actor: Actor): Promise<CaRecord> {
  const ca = findCa(registry, orgId, caId)
  if (ca.kind === 'managed') {
    throw new CertsError('CERTS_ERR_CA_MANAGED', 'mqgate knows the managed CA\'s revocations itself; an OCSP check applies to uploaded CAs')
  }
  const { ocspCheck: _previous, ...rest } = ca
  const updated: CaRecord = enabled ? { ...rest, ocspCheck: true } : rest
  await registry.store.put(orgId, 'cas', updated)
  registry.audit(actor, 'ca.ocsp', orgId, { caId, fingerprint: ca.fingerprint, enabled })
  await registry.reload(orgId)
  return updated
}

/** Whether the CA's devices are checked by OCSP. */
export function ocspCheckOf (ca: CaRecord): boolean {
  return ca.kind === 'uploaded' && ca.ocspCheck === true
}
