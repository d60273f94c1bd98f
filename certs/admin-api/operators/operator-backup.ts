import { CertsError } from '../../errors.js'
import type { OperatorRecord } from './operator.js'
import { operatorRecordProblem } from './operator-record.js'
import type { OperatorStore } from './operator-store.js'

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

/**
 * The backup's `operators`, each checked as a record an operator can have
 * (operator-record.ts: a malformed one broke the API after the restore, or
 * widened a viewer's organisations), with no id twice and no name held by two
 * active records; a refusal (CERTS_ERR_BACKUP_INVALID) names the record's
 * index in the file and the field, never a value.
 */
export function operatorsOfBackup (operators: unknown): OperatorRecord[] {
  if (operators === undefined) return []
  if (!Array.isArray(operators)) throw invalid('the backup\'s operators are not a list')
  const ids = new Set<string>()
  const activeNames = new Set<string>()
  for (const [index, record] of operators.entries()) {
    const problem = operatorRecordProblem(record)
    if (problem !== undefined) throw invalid(`operator #${index} of the backup: ${problem}`)
    const { id, name, revokedAt } = record as OperatorRecord
    if (ids.has(id)) throw invalid(`operator #${index} of the backup: its id is an earlier operator's`)
    ids.add(id)
    if (revokedAt !== undefined) continue
    if (activeNames.has(name)) throw invalid(`operator #${index} of the backup: its name is an earlier active operator's`)
    activeNames.add(name)
  }
  return operators as OperatorRecord[]
}

function invalid (message: string): CertsError {
  return new CertsError('CERTS_ERR_BACKUP_INVALID', message)
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
