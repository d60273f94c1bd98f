import { randomUUID } from 'node:crypto'
import { link, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { writeFileAtomic } from '../../atomic-file.js'
import { isOperatorName, type OperatorRecord } from './operator.js'
import { checkedRecord, type InvalidRecordReport } from './operator-record.js'
import { ID_PATTERN, isOperatorId, storeError, type OperatorStore } from './operator-store.js'

/**
 * `<dataDir>/admin/operators/<id>.json`, 0600, each replaced by rename; the
 * name index is `<dataDir>/admin/operator-names/<name>`, holding the id (a
 * directory of its own: the records' directory holds records only). A claim is a
 * link(2) of a complete file, which fails if the name exists: atomic across
 * processes. A release reads, compares and unlinks, which is not: two
 * processes freeing the same stale claim at once could free a fresh one. On
 * the file store one process runs the admin API (`--workers` needs Redis).
 * A file that is not a valid record under its own id (edited by hand, cut
 * short) is skipped and reported (operator-record.ts), never answered.
 */
export class FileOperatorStore implements OperatorStore {
  private readonly dir: string
  private readonly namesDir: string

  constructor (dataDir: string, private readonly onInvalid?: InvalidRecordReport) {
    this.dir = path.join(dataDir, 'admin', 'operators')
    this.namesDir = path.join(dataDir, 'admin', 'operator-names')
  }

  async get (id: string): Promise<OperatorRecord | undefined> {
    if (!ID_PATTERN.test(id)) return undefined
    return await this.readRecord(id)
  }

  async list (): Promise<OperatorRecord[]> {
    const names = await readdir(this.dir).catch((err: any) => {
      if (err?.code === 'ENOENT') return [] as string[]
      throw storeError(err)
    })
    const records = await Promise.all(names.filter(n => n.endsWith('.json')).map(async n => await this.readRecord(n.slice(0, -'.json'.length))))
    return records.filter((r): r is OperatorRecord => r !== undefined)
  }

  async put (record: OperatorRecord): Promise<void> {
    if (!isOperatorId(record.id)) throw storeError(new Error('not an operator id'))
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 })
      await writeFileAtomic(path.join(this.dir, `${record.id}.json`), JSON.stringify(record, null, 2) + '\n', 0o600)
    } catch (err) {
      throw storeError(err)
    }
  }

  async delete (id: string): Promise<void> {
    if (!ID_PATTERN.test(id)) return
    await rm(path.join(this.dir, `${id}.json`), { force: true }).catch(err => { throw storeError(err) })
  }

  async claimName (name: string, id: string): Promise<string> {
    const file = this.nameFile(name)
    // A name that was freed between our link and our read is claimed again; a bounded number of times.
    for (let attempt = 0; attempt < 3; attempt++) {
      // A name starts with a letter or digit: a dot file is never one.
      const tmp = path.join(this.namesDir, `.claim-${randomUUID()}.tmp`)
      try {
        await mkdir(this.namesDir, { recursive: true, mode: 0o700 })
        await writeFile(tmp, id, { mode: 0o600, flag: 'wx' })
        await link(tmp, file)
        return id
      } catch (err: any) {
        if (err?.code !== 'EEXIST') throw storeError(err)
      } finally {
        await rm(tmp, { force: true })
      }
      const holder = await this.nameHolder(name)
      if (holder !== undefined) return holder
    }
    throw storeError(new Error('the operator name index keeps changing'))
  }

  async nameHolder (name: string): Promise<string | undefined> {
    try {
      return (await readFile(this.nameFile(name), 'utf8')).trim()
    } catch (err: any) {
      if (err?.code === 'ENOENT') return undefined
      throw storeError(err)
    }
  }

  async releaseName (name: string, id: string): Promise<void> {
    if (await this.nameHolder(name) === id) await rm(this.nameFile(name), { force: true }).catch(err => { throw storeError(err) })
  }

  async close (): Promise<void> {}

  private async readRecord (id: string): Promise<OperatorRecord | undefined> {
    try {
      return checkedRecord(id, await readFile(path.join(this.dir, `${id}.json`), 'utf8'), this.onInvalid)
    } catch (err: any) {
      if (err?.code === 'ENOENT') return undefined
      throw storeError(err)
    }
  }

  private nameFile (name: string): string {
    // The admin checks names first; this keeps any other caller inside the directory.
    if (!isOperatorName(name)) throw storeError(new Error('not an operator name'))
    return path.join(this.namesDir, name)
  }
}
