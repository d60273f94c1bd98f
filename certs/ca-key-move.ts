import { X509Certificate } from 'node:crypto'
import type { Actor, OrgRegistry } from './org-registry.js'
import { managedCaOf, type CaRecord, type OrgState } from './records.js'
import type { CaKeyType } from './signer.js'

/**
 * `mqgate org ca-key <org> move-to pkcs11:<uri>`: an existing organisation's
 * managed CA moves into a PKCS#11 token. A private key cannot be imported
 * into a token as non-extractable after it has lived outside one (it was
 * never "sensitive"), so the move makes a new CA whose key is generated in
 * the token (or is the token key the URI names) and retires the old one:
 *
 * - the new CA signs everything from now on (devices, server certificates,
 *   the CRL); the registry holds no key material for it, only the URI;
 * - the old CA stays a trust anchor (kind `uploaded`, trust only) so that the
 *   devices it signed keep connecting, and its key is deleted from the
 *   registry (with its delegated OCSP signer's): after the move no CA key of
 *   the organisation is stored at all;
 *   its certificates stay on the record and revocable (mqgate's revocations
 *   are by fingerprint, whatever CA signed);
 * - the active server certificate is kept (devices in the field trust the
 *   old CA), and what devices are given to trust from now on
 *   (`deviceTrustPemOf`) is both CAs, so a later server certificate from the
 *   new CA is trusted by every device issued after the move.
 */
export async function moveCaKeyToToken (registry: OrgRegistry, orgId: string, uri: string, actor: Actor, keyType?: CaKeyType): Promise<OrgState> {
  const before = registry.require(orgId)
  const retired = managedCaOf(before)
  const created = await registry.createTokenCa(orgId, new Date().toISOString(), uri, keyType)
  // The new CA first: a failure after it leaves the old CA managed and unchanged.
  await registry.store.put(orgId, 'cas', created)
  await registry.store.updateOrg({ ...before.org, managedCaId: created.id })
  // Its delegated OCSP signer goes with its key: the responder answers for the managed CA only, and a stored signer key could still sign "good" for the old CA's certificates.
  const { keyPem: _key, keyUri: _uri, ocspSignerKeyPem: _signerKey, ocspSignerCertPem: _signerCert, ...trustOnly } = retired
  const kept: CaRecord = { ...trustOnly, kind: 'uploaded', description: `retired managed CA (moved to ${uri} on ${created.addedAt}); key deleted` }
  await registry.store.put(orgId, 'cas', kept)
  registry.audit(actor, 'org.ca-key-move', orgId, { caId: created.id, caFingerprint: created.fingerprint, caKeyUri: uri, retiredCaId: retired.id, retiredCaFingerprint: retired.fingerprint })
  await registry.reload(orgId)
  return registry.require(orgId)
}

/**
 * The CA certificates a device issued now should trust the server with: the
 * managed CA, and the CA that signed the active server certificate when that
 * is another of the organisation's CAs (a CA retired by a move).
 */
export function deviceTrustPemOf (state: OrgState): string {
  const managed = managedCaOf(state)
  const server = state.serverCerts.find(s => s.id === state.org.activeServerCertId)
  const signer = server === undefined ? undefined : state.cas.find(ca => ca.id !== managed.id && signedBy(server.certPem, ca.certPem))
  return signer === undefined ? managed.certPem : managed.certPem + signer.certPem
}

function signedBy (certPem: string, caPem: string): boolean {
  try {
    const cert = new X509Certificate(certPem)
    const ca = new X509Certificate(caPem)
    return cert.checkIssued(ca) && cert.verify(ca.publicKey)
  } catch {
    return false
  }
}
