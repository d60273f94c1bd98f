import { CertsError } from '../../errors.js'
import type { OperatorRecord } from './operator.js'
import type { OperatorStore } from './operator-store.js'

/**
 * One active operator per name, decided at the store, so that processes
 * sharing it (the workers of `mqgate start --workers N`, admin APIs on one
 * Redis) cannot both create one. The store keeps a name index (name → record
 * id, set only if absent: HSETNX, or link(2) on files); a create writes its
 * record first, then claims the name, and keeps the record only if the name
 * answers its id.
 *
 * The claim is made for the oldest active record of the name, not for the
 * caller's own: a store from before the index holds its operators in the
 * records only, and those must keep their names; racing creates, whose
 * records are all written before they claim, meet at the same index entry.
 * Because a record is always written before a claim names it, a claim whose
 * record is gone (a lost create removed its own) or revoked (a revoke that
 * stopped before its release) is stale, and is freed and claimed again.
 */
export async function claimOperatorName (store: OperatorStore, name: string): Promise<string> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const oldest = (await activeOfName(store, name))[0]
    if (oldest === undefined) break
    const holder = await store.claimName(name, oldest.id)
    if (holdsName(await store.get(holder), name)) return holder
    await store.releaseName(name, holder)
  }
  throw new CertsError('CERTS_ERR_STORE', `operator ${name}: the name index keeps changing`)
}

/** The active operator of a name: the index's holder when several records of the name are active (a create's is, until it loses its claim). */
export async function activeOperatorOfName (store: OperatorStore, name: string): Promise<OperatorRecord | undefined> {
  const records = await activeOfName(store, name)
  if (records.length < 2) return records[0]
  const holder = await store.nameHolder(name)
  return records.find(record => record.id === holder) ?? records[0]
}

/** Active records of the name, oldest first (id breaks a tie, so every process picks the same). */
async function activeOfName (store: OperatorStore, name: string): Promise<OperatorRecord[]> {
  return (await store.list())
    .filter(record => holdsName(record, name))
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id))
}

function holdsName (record: OperatorRecord | undefined, name: string): boolean {
  return record !== undefined && record.name === name && record.revokedAt === undefined
}
