import { CertsError } from '../../errors.js'
import type { OperatorRecord } from './operator.js'
import { isOperatorId, type OperatorStore } from './operator-store.js'

/**
 * The operators in `mqgate registry backup|restore` (the verb composes them
 * with the registry: certs/registry-backup.ts knows no operators). A record
 * holds its token's hash, never a token, and is carried as the store holds
 * it, fields this version does not know included. The name index is not
 * carried: a create claims a name for the oldest active operator of it
 * (operator-names.ts), so restored operators keep their names.
 */
export async function backupOperators (store: OperatorStore): Promise<OperatorRecord[]> {
  return (await store.list()).sort((a, b) => a.id.localeCompare(b.id))
}

/** The backup's `operators`, checked as far as the store needs: an object with an operator id and a name. */
export function operatorsOfBackup (operators: readonly unknown[] | undefined): OperatorRecord[] {
  for (const record of operators ?? []) {
    if (typeof record !== 'object' || record === null || !isOperatorId((record as any).id) || typeof (record as any).name !== 'string') {
      throw new CertsError('CERTS_ERR_BACKUP_INVALID', 'an operator of the backup has no valid id or name')
    }
  }
  return (operators ?? []) as OperatorRecord[]
}

/**
 * Refuses, before anything is written, a restore of operators into a store
 * that holds one of them (the same id) or an active operator of the name of
 * an active one of them: as with organisations, a restore brings back what
 * was lost and does not merge (CERTS_ERR_RESTORE_CONFLICT).
 */
export async function checkOperatorRestore (store: OperatorStore, records: readonly OperatorRecord[]): Promise<void> {
  const present = await store.list()
  const ids = new Set(present.map(record => record.id))
  const activeNames = new Set(present.filter(record => record.revokedAt === undefined).map(record => record.name))
  const clashing = records.filter(record => ids.has(record.id) || (record.revokedAt === undefined && activeNames.has(record.name)))
  if (clashing.length > 0) {
    throw new CertsError('CERTS_ERR_RESTORE_CONFLICT', `the store already holds operator(s) ${[...new Set(clashing.map(record => record.name))].join(', ')}: restore into a store without them`)
  }
}

export async function restoreOperators (store: OperatorStore, records: readonly OperatorRecord[]): Promise<number> {
  for (const record of records) await store.put(record)
  return records.length
}
