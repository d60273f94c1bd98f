import { mapSnapshotRecords, type Collection, type CollectionRecords, type OrgRecord, type OrgState } from '../records.js'
import type { RegistryStore } from '../registry-store.js'
import type { KeyRing } from './kek.js'
import { keyFieldsOf, openRecord, sealRecord } from './sealed-records.js'

/**
 * A RegistryStore that keeps private keys encrypted at rest: every key field
 * (sealed-records.ts) is sealed under the current KEK before it reaches the
 * inner store (files or Redis) and opened on the way back, by key id, with the
 * current or a previous KEK. Everything above it (OrgRegistry, the issuance
 * path, the signers) sees plaintext records, as before; everything below it
 * (disk, Redis, its AOF and RDB, their backups) sees only blobs.
 */
export class EncryptingRegistryStore implements RegistryStore {
  readonly kind: RegistryStore['kind']

  constructor (private readonly inner: RegistryStore, private readonly ring: KeyRing) {
    this.kind = inner.kind
  }

  async listOrgIds (): Promise<string[]> {
    return await this.inner.listOrgIds()
  }

  async readOrg (orgId: string): Promise<OrgState | undefined> {
    const state = await this.inner.readOrg(orgId)
    if (state === undefined) return undefined
    return mapSnapshotRecords(state, (collection, record) => openRecord(this.ring, orgId, collection, record))
  }

  async createOrg (state: OrgState): Promise<void> {
    const orgId = state.org.id
    await this.inner.createOrg(mapSnapshotRecords(state, (collection, record) => sealRecord(this.ring, orgId, collection, record)))
  }

  async updateOrg (org: OrgRecord): Promise<void> {
    await this.inner.updateOrg(org)
  }

  async put<C extends Collection> (orgId: string, collection: C, record: CollectionRecords[C], options?: { quiet?: boolean }): Promise<void> {
    await this.inner.put(orgId, collection, sealRecord(this.ring, orgId, collection, record), options)
  }

  async swap<C extends Collection> (orgId: string, collection: C, expected: CollectionRecords[C], next: CollectionRecords[C], options?: { announce?: boolean }): Promise<boolean> {
    // Sealing draws a fresh nonce: a sealed record would never compare equal to the stored one.
    if (keyFieldsOf(collection, next).length > 0) throw new Error(`swap: ${collection} records hold keys`)
    return await this.inner.swap(orgId, collection, expected, next, options)
  }

  async remove (orgId: string, collection: Collection, id: string): Promise<void> {
    await this.inner.remove(orgId, collection, id)
  }

  async get<C extends Collection> (orgId: string, collection: C, id: string): Promise<CollectionRecords[C] | undefined> {
    const record = await this.inner.get(orgId, collection, id)
    return record === undefined ? undefined : openRecord(this.ring, orgId, collection, record)
  }

  async list<C extends Collection> (orgId: string, collection: C): Promise<Array<CollectionRecords[C]>> {
    return (await this.inner.list(orgId, collection)).map(r => openRecord(this.ring, orgId, collection, r))
  }

  async watch (onChange: (orgId?: string) => void): Promise<() => Promise<void>> {
    return await this.inner.watch(onChange)
  }

  async lease (name: string, holder: string, ttlMs: number): Promise<boolean> {
    return await this.inner.lease(name, holder, ttlMs)
  }

  async close (): Promise<void> {
    await this.inner.close()
  }
}
