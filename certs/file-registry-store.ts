import { randomUUID } from 'node:crypto'
import { mkdir, readFile, readdir, rename, rm } from 'node:fs/promises'
import { unwatchFile, watchFile } from 'node:fs'
import path from 'node:path'
import { writeFileAtomic } from './atomic-file.js'
import { CertsError } from './errors.js'
import type { CaRecord, OrgRecord, OrgState, ServerCertRecord } from './records.js'
import type { RegistryStore } from './registry-store.js'

/**
 * The registry under `<dataDir>/orgs/<org>/`: `org.json`, `cas/<id>.json`,
 * `server-certs/<id>.json`. Records hold private keys, so files are 0600 and
 * directories 0700. Every file is replaced by rename, so a crash leaves the old
 * or the new version, never half of one. Other processes learn of changes from
 * `orgs/.generation`, rewritten after every change.
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
      const hasOrg = await readJson(path.join(this.root, entry.name, 'org.json'))
      if (hasOrg !== undefined) ids.push(entry.name)
    }
    return ids.sort()
  }

  async readOrg (orgId: string): Promise<OrgState | undefined> {
    const dir = path.join(this.root, orgId)
    const org = await readJson<OrgRecord>(path.join(dir, 'org.json'))
    if (org === undefined) return undefined
    return {
      org,
      cas: await readJsonDir<CaRecord>(path.join(dir, 'cas')),
      serverCerts: await readJsonDir<ServerCertRecord>(path.join(dir, 'server-certs'))
    }
  }

  async createOrg (state: OrgState): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o700 })
    const staging = path.join(this.root, `.staging-${state.org.id}-${randomUUID()}`)
    await mkdir(path.join(staging, 'cas'), { recursive: true, mode: 0o700 })
    await mkdir(path.join(staging, 'server-certs'), { mode: 0o700 })
    try {
      for (const ca of state.cas) await writeJson(path.join(staging, 'cas', `${ca.id}.json`), ca)
      for (const sc of state.serverCerts) await writeJson(path.join(staging, 'server-certs', `${sc.id}.json`), sc)
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

  async putCa (orgId: string, ca: CaRecord): Promise<void> {
    await writeJson(path.join(await this.orgDir(orgId), 'cas', `${ca.id}.json`), ca)
    await this.bumpGeneration()
  }

  async deleteCa (orgId: string, caId: string): Promise<void> {
    await rm(path.join(await this.orgDir(orgId), 'cas', `${caId}.json`), { force: true })
    await this.bumpGeneration()
  }

  async putServerCert (orgId: string, serverCert: ServerCertRecord): Promise<void> {
    await writeJson(path.join(await this.orgDir(orgId), 'server-certs', `${serverCert.id}.json`), serverCert)
    await this.bumpGeneration()
  }

  async watch (onChange: (orgId?: string) => void): Promise<() => Promise<void>> {
    await mkdir(this.root, { recursive: true, mode: 0o700 })
    const listener = (): void => onChange(undefined)
    watchFile(this.generationFile, { interval: this.pollIntervalMs, persistent: false }, listener)
    return async () => unwatchFile(this.generationFile, listener)
  }

  async close (): Promise<void> {}

  /** An org's directory may already hold `bootstrap/` (written by first start), so only org.json marks it as taken. */
  private async moveIntoPlace (staging: string, orgId: string): Promise<void> {
    const target = path.join(this.root, orgId)
    if (await readJson(path.join(target, 'org.json')) !== undefined) {
      throw new CertsError('CERTS_ERR_ORG_EXISTS', `organisation ${orgId} already exists`)
    }
    try {
      await rename(staging, target)
    } catch (err: any) {
      if (err?.code !== 'ENOTEMPTY' && err?.code !== 'EEXIST') throw storeError(err)
      for (const sub of ['cas', 'server-certs']) await rename(path.join(staging, sub), path.join(target, sub))
      await rename(path.join(staging, 'org.json'), path.join(target, 'org.json'))
    }
  }

  private async orgDir (orgId: string): Promise<string> {
    const dir = path.join(this.root, orgId)
    if (await readJson(path.join(dir, 'org.json')) === undefined) {
      throw new CertsError('CERTS_ERR_ORG_NOT_FOUND', `organisation ${orgId} does not exist`)
    }
    return dir
  }

  private async bumpGeneration (): Promise<void> {
    await writeJson(this.generationFile, { at: new Date().toISOString(), id: randomUUID() })
  }
}

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

async function readJsonDir<T> (dir: string): Promise<T[]> {
  const names = await readdir(dir).catch(ignoreMissing([] as string[]))
  const records: T[] = []
  for (const name of names.filter(n => n.endsWith('.json')).sort()) {
    const record = await readJson<T>(path.join(dir, name))
    if (record !== undefined) records.push(record)
  }
  return records
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
