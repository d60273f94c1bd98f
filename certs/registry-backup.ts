import { CertsError } from './errors.js'
import type { ClaimRecord, EnrollTokenRecord, IssuedCertRecord, OrgState } from './records.js'
import type { RegistryStore } from './registry-store.js'

/**
 * The whole registry as one JSON document (`mqgate registry backup|restore`):
 * per organisation its record, CAs (keys and loaded CRLs included), server
 * certificates and keys, revocations, gateway scopes, the issued
 * certificates on record, and the enrollment claims and token hashes. Read and written through the RegistryStore
 * interface, below any decorator: what is backed up is what the store holds
 * (keys encrypted at rest stay ciphertext in the file). The verb adds the
 * admin API's operators (`operators`, admin-api/operators/operator-backup.ts),
 * which this layer carries without reading.
 */
export interface RegistryBackup {
  readonly format: typeof FORMAT
  readonly version: 1
  readonly createdAt: string
  /** The store it was read from; a restore may go into the other kind. */
  readonly from: RegistryStore['kind']
  /** `claims` and `enrollTokens` are absent from backups made before enrollment existed: none then. */
  readonly orgs: ReadonlyArray<{ readonly state: OrgState, readonly issued: readonly IssuedCertRecord[], readonly claims?: readonly ClaimRecord[], readonly enrollTokens?: readonly EnrollTokenRecord[] }>
  /** The operator records as their store holds them (token hashes only); absent from backups made before they were carried: none restored then. */
  readonly operators?: readonly unknown[]
}

const FORMAT = 'mqgate-registry-backup'

export async function backupRegistry (store: RegistryStore): Promise<RegistryBackup> {
  const orgs: Array<RegistryBackup['orgs'][number]> = []
  for (const orgId of await store.listOrgIds()) {
    const state = await store.readOrg(orgId)
    // Listed but gone by the time it is read: nothing to keep.
    if (state === undefined) continue
    orgs.push({ state, issued: await store.list(orgId, 'issued'), claims: await store.list(orgId, 'claims'), enrollTokens: await store.list(orgId, 'enroll-tokens') })
  }
  return { format: FORMAT, version: 1, createdAt: new Date().toISOString(), from: store.kind, orgs }
}

export function parseBackup (text: string): RegistryBackup {
  let backup: Partial<RegistryBackup>
  try {
    backup = JSON.parse(text)
  } catch {
    throw new CertsError('CERTS_ERR_BACKUP_INVALID', 'the file is not JSON: not a registry backup')
  }
  if (backup?.format !== FORMAT || backup.version !== 1 || !Array.isArray(backup.orgs) ||
    !backup.orgs.every(o => typeof o?.state?.org?.id === 'string' && Array.isArray(o.issued) && Array.isArray(o.state.cas)) ||
    (backup.operators !== undefined && !Array.isArray(backup.operators))) {
    throw new CertsError('CERTS_ERR_BACKUP_INVALID', `not a version 1 ${FORMAT} file`)
  }
  return backup as RegistryBackup
}

/**
 * Writes every organisation of the backup into the store. Refuses, before
 * writing anything, when the store already holds one of them: a restore
 * brings back what was lost, it does not merge into a live registry. Each
 * organisation is created whole (and announced, so running brokers load it
 * without a restart), then its issued certificates, claims and token hashes
 * are put quietly.
 */
export async function restoreRegistry (store: RegistryStore, backup: RegistryBackup): Promise<string[]> {
  const present = new Set(await store.listOrgIds())
  const clashing = backup.orgs.map(o => o.state.org.id).filter(id => present.has(id))
  if (clashing.length > 0) {
    throw new CertsError('CERTS_ERR_RESTORE_CONFLICT', `the store already holds ${clashing.join(', ')}: restore into a store without them`)
  }
  const restored: string[] = []
  for (const { state, issued, claims, enrollTokens } of backup.orgs) {
    await store.createOrg(state)
    for (const record of issued) await store.put(state.org.id, 'issued', record, { quiet: true })
    for (const record of claims ?? []) await store.put(state.org.id, 'claims', record, { quiet: true })
    for (const record of enrollTokens ?? []) await store.put(state.org.id, 'enroll-tokens', record, { quiet: true })
    restored.push(state.org.id)
  }
  return restored
}
