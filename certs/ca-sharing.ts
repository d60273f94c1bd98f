import { X509Certificate } from 'node:crypto'
import type { CertificateFacts } from './certificate-facts.js'
import { CertsError } from './errors.js'
import type { OrgRegistry } from './org-registry.js'

/**
 * One CA trusted by two organisations makes every device it signed a member
 * of both: the organisation comes from the SNI name, not from the
 * certificate (design.md, Identity). A CRL loaded in one organisation does
 * not protect the other, and a TLS session made in one can resume into the
 * other. That is sometimes intended (one factory CA for two tenants of one
 * customer), never by accident: a second organisation must say `shared`.
 */

export interface CaElsewhere {
  readonly orgId: string
  readonly caId: string
}

/**
 * The CAs of other organisations that are the same CA: the same subject and
 * the same public key (RFC 5280 §6.1: what path validation matches a trust
 * anchor by), whatever their validity dates or serials. A re-issued root with
 * the same key is the same CA.
 */
export function sameCaElsewhere (registry: OrgRegistry, orgId: string, facts: CertificateFacts): CaElsewhere[] {
  const key = spkiOf(facts.x509)
  const found: CaElsewhere[] = []
  for (const state of registry.list()) {
    if (state.org.id === orgId) continue
    for (const ca of state.cas) {
      const other = new X509Certificate(ca.certPem)
      if (other.subject === facts.x509.subject && spkiOf(other).equals(key)) found.push({ orgId: state.org.id, caId: ca.id })
    }
  }
  return found
}

/**
 * Throws CERTS_ERR_CA_IN_OTHER_ORG unless the operator acknowledged sharing.
 * The message does not name the other organisations: an org-admin of this one
 * may not learn which others the gateway serves (issue 14). The refusal's log
 * line names them (`otherOrgs`), for the gateway's operators.
 */
export function refuseUnacknowledgedSharing (elsewhere: readonly CaElsewhere[], shared: boolean): void {
  if (elsewhere.length === 0 || shared) return
  const otherOrgs = [...new Set(elsewhere.map(e => e.orgId))]
  throw new CertsError('CERTS_ERR_CA_IN_OTHER_ORG',
    'the same CA (subject and key) is already trusted by another organisation: its devices would be trusted in both, ' +
    'and a CRL loaded in one does not protect the other. Pass --shared (API: "shared": true) if that is intended',
    { logFields: { otherOrgs } })
}

function spkiOf (x509: X509Certificate): Buffer {
  return x509.publicKey.export({ type: 'spki', format: 'der' })
}
