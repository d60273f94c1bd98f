import type { Logger } from 'pino'
import { snapshotCollectionsOf, type Collection } from '../records.js'
import type { RegistryStore } from '../registry-store.js'
import type { KeyRing } from './kek.js'
import { isSealed, kidOfBlob, openValue } from './key-blob.js'
import { keyFieldsOf, openRecord, sealRecord, slotOf } from './sealed-records.js'

export type SealMode =
  /** At every start: seal plaintext keys (records from before encryption at rest); check every blob opens. */
  | 'migrate'
  /** `mqgate registry rotate-kek`: also re-seal every blob not under the ring's current key. */
  | 'rotate'

/**
 * Walks every key field of every organisation in the inner store. Each blob is
 * opened (so a wrong KEK, CERTS_ERR_KEK_MISMATCH, or a moved or altered blob,
 * CERTS_ERR_KEY_BLOB_INVALID, stops a start before anything listens), and a
 * record that needs it is written back sealed under the current key, quietly:
 * its content, as the registry sees it, does not change, so no process needs
 * to reload. One log line per record written, naming the record, never the key.
 * `issued` is not walked: its records hold certificates, no keys.
 */
export async function sealStoredKeys (inner: RegistryStore, ring: KeyRing, log: Logger, mode: SealMode): Promise<number> {
  let written = 0
  for (const orgId of await inner.listOrgIds()) {
    const state = await inner.readOrg(orgId)
    if (state === undefined) continue
    for (const [collection, records] of snapshotCollectionsOf(state)) {
      for (const record of records) {
        const fields = keyFieldsOf(collection, record).filter(field => needsSealing(ring, orgId, collection, record, field, mode))
        if (fields.length === 0) continue
        await inner.put(orgId, collection, sealRecord(ring, orgId, collection, openRecord(ring, orgId, collection, record as any)), { quiet: true })
        written++
        log.info({ event: mode === 'migrate' ? 'kek.migrated' : 'kek.rotated', orgId, collection, recordId: slotOf(orgId, collection, record, fields[0]).recordId, fields, kid: ring.current.kid },
          mode === 'migrate' ? 'a plaintext private key in the registry is now encrypted at rest' : 'a stored private key is re-encrypted under the new key-encryption key')
      }
    }
  }
  return written
}

function needsSealing (ring: KeyRing, orgId: string, collection: Collection, record: object, field: string, mode: SealMode): boolean {
  const value = (record as Record<string, string>)[field]
  if (!isSealed(value)) return true
  openValue(ring, slotOf(orgId, collection, record, field), value)
  return mode === 'rotate' && kidOfBlob(value) !== ring.current.kid
}
