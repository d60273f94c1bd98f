import { CertsError } from '../errors.js'
import type { Collection, CollectionRecords } from '../records.js'
import type { RegistryStore } from '../registry-store.js'

/**
 * Read, decide, compare-and-set, and again if another process changed the
 * record in between: `decide` sees the record as it is now (undefined when
 * absent) and returns the next version, or throws the refusal. What makes a
 * claim's use count and a token's single use hold across processes.
 */
export async function changeRecord<C extends Collection> (
  store: RegistryStore, orgId: string, collection: C, id: string,
  decide: (current: CollectionRecords[C] | undefined) => CollectionRecords[C]
): Promise<CollectionRecords[C]> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const current = await store.get(orgId, collection, id)
    const next = decide(current)
    if (current === undefined) throw new Error(`changeRecord: decide accepted a missing ${collection} record`)
    if (await store.swap(orgId, collection, current, next)) return next
  }
  throw new CertsError('CERTS_ERR_STORE', `the ${collection} record kept changing under ${MAX_ATTEMPTS} attempts`)
}

// Each lost race means another writer won one: a busy claim shared by a fleet retries, but never forever.
const MAX_ATTEMPTS = 50
