import type { CaRecord, OrgRecord, OrgState, ServerCertRecord } from './records.js'

/**
 * Where the registry keeps its records: the data directory by default, Redis
 * when one is configured. Each write is atomic on its own; `watch` reports
 * changes made by any process sharing the store.
 */
export interface RegistryStore {
  readonly kind: 'file' | 'redis'
  listOrgIds (): Promise<string[]>
  readOrg (orgId: string): Promise<OrgState | undefined>
  /** Creates the organisation with all its records at once; CERTS_ERR_ORG_EXISTS if it exists. */
  createOrg (state: OrgState): Promise<void>
  updateOrg (org: OrgRecord): Promise<void>
  putCa (orgId: string, ca: CaRecord): Promise<void>
  deleteCa (orgId: string, caId: string): Promise<void>
  putServerCert (orgId: string, serverCert: ServerCertRecord): Promise<void>
  /** `onChange(orgId)` after a change by any process; `undefined` means "reload everything". */
  watch (onChange: (orgId?: string) => void): Promise<() => Promise<void>>
  close (): Promise<void>
}
