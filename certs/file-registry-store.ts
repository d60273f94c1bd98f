import { randomUUID } from 'node:crypto'
import { mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { unwatchFile, watchFile } from 'node:fs'
import path from 'node:path'
import { writeFileAtomic } from './atomic-file.js'
import { CertsError } from './errors.js'
import { isValidOrgId } from './names.js'
import { SNAPSHOT_COLLECTIONS, snapshotCollectionsOf, type Collection, type CollectionRecords, type OrgRecord, type OrgState } from './records.js'
import { recordKey, type RegistryStore } from './registry-store.js'

/**
 * The registry under `<dataDir>/orgs/<org>/`: `org.json` and one directory per
 * collection (`cas/<id>.json`, `server-certs/<id>.json`, ...). Records hold
 * private keys, so files are 0600 and directories 0700. Every file is replaced
 * by rename, so a crash leaves the old or the new version, never half of one.
 * Other processes learn of changes from `orgs/.generation`, rewritten after
 * every change and polled.
 */
export class FileRegistryStore implements RegistryStore {
  readonly kind = 'file'
  private readonly root: string
  private readonly generationFile: string

  constructor (dataDir: string, private readonly pollIntervalMs = 500) {
    this.root = path.join(dataDir, 'orgs')
    this.generationFile = path.join(this.root, '.generation')
  }

  async listOrgIds (): Promise<string[]> {
    const entries = await readdir(this.root, { withFileTypes: true }).catch(ignoreMissing([]))
    const ids: string[] = []
    for (const entry of entries) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue
      if (await readJson(path.join(this.root, entry.name, 'org.json')) !== undefined) ids.push(entry.name)
    }
    return ids.sort()
  }

  async readOrg (orgId: string): Promise<OrgState | undefined> {
    const org = await readJson<OrgRecord>(path.join(this.pathOf(orgId), 'org.json'))
    if (org === undefined) return undefined
    const [cas, serverCerts, revocations, gateways, renewals] = await Promise.all(SNAPSHOT_COLLECTIONS.map(async c => await this.list(orgId, c)))
    return { org, cas, serverCerts, revocations, gateways, renewals } as OrgState
  }

  async createOrg (state: OrgState): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o700 })
    const staging = path.join(this.root, `.staging-${state.org.id}-${randomUUID()}`)
    await mkdir(staging, { mode: 0o700 })
    try {
      for (const [collection, records] of snapshotCollectionsOf(state)) {
        await mkdir(path.join(staging, collection), { mode: 0o700 })
        for (const record of records) await writeJson(path.join(staging, collection, `${recordKey(collection, record)}.json`), record)
      }
      await writeJson(path.join(staging, 'org.json'), state.org)
      await this.moveIntoPlace(staging, state.org.id)
    } finally {
      await rm(staging, { recursive: true, force: true })
    }
    await this.bumpGeneration()
  }

  async updateOrg (org: OrgRecord): Promise<void> {
    await writeJson(path.join(await this.orgDir(org.id), 'org.json'), org)
    await this.bumpGeneration()
  }

  async put<C extends Collection> (orgId: string, collection: C, record: CollectionRecords[C], options: { quiet?: boolean } = {}): Promise<void> {
    const dir = path.join(await this.orgDir(orgId), collection)
    await mkdir(dir, { recursive: true, mode: 0o700 })
    await writeJson(path.join(dir, `${recordKey(collection, record)}.json`), record)
    if (options.quiet !== true) await this.bumpGeneration()
  }

  async swap<C extends Collection> (orgId: string, collection: C, expected: CollectionRecords[C], next: CollectionRecords[C], options: { announce?: boolean } = {}): Promise<boolean> {
    const key = recordKey(collection, next)
    if (recordKey(collection, expected) !== key) throw new Error('swap: the two records have different keys')
    const file = path.join(await this.orgDir(orgId), collection, `${key}.json`)
    const swapped = await underLock(`${file}.lock`, async () => {
      if (JSON.stringify(await readJson(file)) !== JSON.stringify(expected)) return false
      await writeJson(file, next)
      return true
    })
    if (swapped && options.announce === true) await this.bumpGeneration()
    return swapped
  }

  async remove (orgId: string, collection: Collection, id: string): Promise<void> {
    await rm(path.join(await this.orgDir(orgId), collection, `${recordKey(collection, { id, fingerprint: id })}.json`), { force: true })
    await this.bumpGeneration()
  }

  async get<C extends Collection> (orgId: string, collection: C, id: string): Promise<CollectionRecords[C] | undefined> {
    return await readJson(path.join(this.pathOf(orgId), collection, `${recordKey(collection, { id, fingerprint: id })}.json`))
  }

  async list<C extends Collection> (orgId: string, collection: C): Promise<Array<CollectionRecords[C]>> {
    const dir = path.join(this.pathOf(orgId), collection)
    const names = await readdir(dir).catch(ignoreMissing([] as string[]))
    const records: Array<CollectionRecords[C]> = []
    for (const name of names.filter(n => n.endsWith('.json')).sort()) {
      const record = await readJson<CollectionRecords[C]>(path.join(dir, name))
      if (record !== undefined) records.push(record)
    }
    return records
  }

  async watch (onChange: (orgId?: string) => void): Promise<() => Promise<void>> {
    await mkdir(this.root, { recursive: true, mode: 0o700 })
    const listener = (): void => onChange(undefined)
    watchFile(this.generationFile, { interval: this.pollIntervalMs, persistent: false }, listener)
    return async () => unwatchFile(this.generationFile, listener)
  }

  /**
   * `orgs/.leases/<name>.json`, for the requests of one process and the
   * processes of `mqgate start --workers` on one data dir, taken under a lock
   * file (as swap is): the one-renewal-per-certificate and
   * one-enrollment-per-identity leases tolerate no repeat.
   */
  async lease (name: string, holder: string, ttlMs: number): Promise<boolean> {
    if (!/^[A-Za-z0-9._-]{1,100}$/.test(name)) throw new Error(`lease name ${name} is not a file name`)
    const dir = path.join(this.root, '.leases')
    const file = path.join(dir, `${name}.json`)
    await mkdir(dir, { recursive: true, mode: 0o700 })
    // Read, decide and write under the lease's lock file: two requests of one process (or of two
    // processes) that both read "free" before either wrote would otherwise both hold it.
    return await underLock(`${file}.lock`, async () => {
      const current = await readJson<{ holder: string, until: number }>(file).catch(() => undefined)
      if (current !== undefined && current.holder !== holder && current.until > Date.now()) return false
      await writeJson(file, { holder, until: Date.now() + ttlMs })
      return true
    })
  }

  async close (): Promise<void> {}

  /** An org's directory may already hold `bootstrap/` (written by first start), so only org.json marks it as taken. */
  private async moveIntoPlace (staging: string, orgId: string): Promise<void> {
    const target = this.pathOf(orgId)
    if (await readJson(path.join(target, 'org.json')) !== undefined) {
      throw new CertsError('CERTS_ERR_ORG_EXISTS', `organisation ${orgId} already exists`)
    }
    try {
      await rename(staging, target)
    } catch (err: any) {
      if (err?.code !== 'ENOTEMPTY' && err?.code !== 'EEXIST') throw storeError(err)
      for (const entry of await readdir(staging)) {
        if (entry !== 'org.json') await rename(path.join(staging, entry), path.join(target, entry))
      }
      // org.json last: until it is in place, the organisation does not exist.
      await rename(path.join(staging, 'org.json'), path.join(target, 'org.json'))
    }
  }

  /** Org ids become path segments: only DNS labels get that far. */
  private pathOf (orgId: string): string {
    if (!isValidOrgId(orgId)) throw new CertsError('CERTS_ERR_ORG_NOT_FOUND', 'no such organisation')
    return path.join(this.root, orgId)
  }

  private async orgDir (orgId: string): Promise<string> {
    const dir = this.pathOf(orgId)
    if (await readJson(path.join(dir, 'org.json')) === undefined) {
      throw new CertsError('CERTS_ERR_ORG_NOT_FOUND', `organisation ${orgId} does not exist`)
    }
    return dir
  }

  private async bumpGeneration (): Promise<void> {
    await writeJson(this.generationFile, { at: new Date().toISOString(), id: randomUUID() })
  }
}

/**
 * Runs `step` while holding `lockFile`, created exclusively (O_EXCL), so the
 * processes of `mqgate start --workers` on one data dir take turns. A lock
 * older than LOCK_STALE_MS is one a crashed process left: it is broken.
 */
async function underLock<T> (lockFile: string, step: () => Promise<T>): Promise<T> {
  const giveUpAt = Date.now() + LOCK_WAIT_MS
  for (;;) {
    try {
      const handle = await open(lockFile, 'wx', 0o600)
      await handle.close()
      break
    } catch (err: any) {
      if (err?.code !== 'EEXIST') throw storeError(err)
      const age = Date.now() - ((await stat(lockFile).catch(() => undefined))?.mtimeMs ?? Date.now())
      if (age > LOCK_STALE_MS) await rm(lockFile, { force: true })
      else if (Date.now() > giveUpAt) throw storeError(new Error(`${lockFile} stayed locked`))
      else await sleep(5)
    }
  }
  try {
    return await step()
  } finally {
    await rm(lockFile, { force: true })
  }
}

const LOCK_WAIT_MS = 5_000
const LOCK_STALE_MS = 10_000

async function writeJson (file: string, value: unknown): Promise<void> {
  try {
    await writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n', 0o600)
  } catch (err) {
    throw storeError(err)
  }
}

async function readJson<T> (file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T
  } catch (err: any) {
    if (err?.code === 'ENOENT' || err?.code === 'ENOTDIR') return undefined
    throw storeError(err)
  }
}

function ignoreMissing<T> (fallback: T): (err: any) => T {
  return (err: any) => {
    if (err?.code === 'ENOENT') return fallback
    throw storeError(err)
  }
}

function storeError (err: unknown): Error {
  if (err instanceof CertsError) return err
  return new CertsError('CERTS_ERR_STORE', 'the registry store on disk failed', { cause: err })
}
