import type { Collection, CollectionRecords, OrgRecord, OrgState } from './records.js'

/**
 * Where the registry keeps its records: the data directory by default, Redis
 * when one is configured. An organisation is one record plus collections of
 * records keyed by id. Each write is atomic on its own; `watch` reports changes
 * made by any process sharing the store.
 */
export interface RegistryStore {
  readonly kind: 'file' | 'redis'
  listOrgIds (): Promise<string[]>
  /** The organisation with its in-memory collections (everything but `issued`). */
  readOrg (orgId: string): Promise<OrgState | undefined>
  /** Creates the organisation with all its records at once; CERTS_ERR_ORG_EXISTS if it exists. */
  createOrg (state: OrgState): Promise<void>
  updateOrg (org: OrgRecord): Promise<void>
  /** Writes one record; `quiet` skips the change notice (records no process holds in memory). */
  put<C extends Collection> (orgId: string, collection: C, record: CollectionRecords[C], options?: { quiet?: boolean }): Promise<void>
  /**
   * Replaces the record `expected` with `next` (the same key) only while the
   * stored record is still exactly `expected`: a compare-and-set, atomic
   * across every process sharing the store (a Lua script on Redis, a lock
   * file on disk). False when another writer changed it first: read it again
   * and decide again. Quiet, like `put` with `quiet`, unless `announce` (a
   * record every process holds in memory, as renewals); for records without
   * key fields (sealing one would never compare equal).
   */
  swap<C extends Collection> (orgId: string, collection: C, expected: CollectionRecords[C], next: CollectionRecords[C], options?: { announce?: boolean }): Promise<boolean>
  remove (orgId: string, collection: Collection, id: string): Promise<void>
  get<C extends Collection> (orgId: string, collection: C, id: string): Promise<CollectionRecords[C] | undefined>
  list<C extends Collection> (orgId: string, collection: C): Promise<Array<CollectionRecords[C]>>
  /** `onChange(orgId)` after a change by any process; `undefined` means "reload everything". */
  watch (onChange: (orgId?: string) => void): Promise<() => Promise<void>>
  /**
   * Takes or extends the lease `name` for `holder` for `ttlMs`: true while
   * `holder` has it, false while another holder's lease runs. Lets one
   * process of those sharing the store do a job (fetching CRLs) for all.
   */
  lease (name: string, holder: string, ttlMs: number): Promise<boolean>
  close (): Promise<void>
}

/** The id a record is stored under: revocations are keyed by fingerprint, everything else by id. */
export function recordKey (collection: Collection, record: { id?: string, fingerprint?: string }): string {
  const key = collection === 'revocations' ? record.fingerprint : record.id
  if (key === undefined || !/^[A-Za-z0-9._:-]{1,200}$/.test(key)) throw new Error(`record of ${collection} without a usable key`)
  return key
}
