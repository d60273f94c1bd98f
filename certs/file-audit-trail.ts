import { appendFile, mkdir, open, readFile } from 'node:fs/promises'
import path from 'node:path'
import type { Logger } from 'pino'
import { writeFileAtomic } from './atomic-file.js'
import { AUDIT_KEEP, matches, withinCloseGrace, type AuditEntry, type AuditFilter, type AuditTrail } from './audit-trail.js'
import { CertsError } from './errors.js'
import { isValidOrgId } from './names.js'

/** The file grows to this many lines before it is cut back to AUDIT_KEEP: one rewrite per AUDIT_KEEP appends. */
const TRIM_AT = 2 * AUDIT_KEEP

/**
 * The audit trail on the file store: `<dataDir>/audit/<org>.jsonl` (0600, in
 * a 0700 directory), one JSON entry a line, oldest first, so a restart keeps
 * what `GET /orgs/:org/audit` shows.
 *
 * Writes are serialised per organisation in this process. Each append is one
 * O_APPEND write of a whole line, which Linux does not interleave with
 * another process's, so a second writer on the data dir cannot tear a line.
 * Only the trim (read, keep the newest AUDIT_KEEP, rename over) could lose an
 * entry another process appends meanwhile: after the rename the lines that
 * reached the old file since it was read are copied over, which leaves only
 * an append opened before the rename and written after that copy. On the file
 * store one process writes the trail (`mqgate start`; `broker`, `bridge`,
 * `api` and `--workers` need Redis), so that window is only open to a
 * misconfiguration, and the `audit` log line still has the entry.
 *
 * A line torn by a crash mid-write is skipped by the listing and dropped by
 * the next trim; the first append of a process starts on a fresh line.
 */
export class FileAuditTrail implements AuditTrail {
  private readonly dir: string
  /** Per organisation: the last write or read queued, so each waits for the one before. */
  private readonly turns = new Map<string, Promise<unknown>>()
  /** Lines in each organisation's file as this process counts them (read once, then counted). */
  private readonly lines = new Map<string, number>()
  /** Appends in flight: close waits for them, so a change's entry is not lost at shutdown. */
  private readonly writing = new Set<Promise<unknown>>()

  constructor (dataDir: string, private readonly log: Logger) {
    this.dir = path.join(dataDir, 'audit')
  }

  append (entry: AuditEntry): void {
    if (!isValidOrgId(entry.orgId)) return
    const write = this.inTurn(entry.orgId, async () => await this.write(entry))
      .catch((err: Error) => this.log.error({ event: 'audit.store-failed', err, action: entry.action, orgId: entry.orgId }, 'could not store an audit entry (the log line has it)'))
    this.writing.add(write)
    void write.finally(() => this.writing.delete(write))
  }

  async list (orgId: string, filter: AuditFilter): Promise<readonly AuditEntry[]> {
    if (!isValidOrgId(orgId)) return []
    // In turn: a listing right after a change shows it.
    const entries = await this.inTurn(orgId, async () => await this.read(orgId))
    return entries.slice(-AUDIT_KEEP).reverse().filter(entry => matches(entry, filter))
  }

  async close (): Promise<void> {
    // Bounded, as the Redis trail's: a stuck disk must not hold a shutdown.
    await withinCloseGrace(Promise.all(this.writing))
  }

  private async write (entry: AuditEntry): Promise<void> {
    const file = this.fileOf(entry.orgId)
    let count = this.lines.get(entry.orgId)
    let prefix = ''
    if (count === undefined) {
      await mkdir(this.dir, { recursive: true, mode: 0o700 })
      const content = await readText(file)
      count = content.split('\n').filter(line => line !== '').length
      // A torn last line (crash mid-write) must stay apart from this entry.
      if (content !== '' && !content.endsWith('\n')) prefix = '\n'
    }
    await appendFile(file, `${prefix}${JSON.stringify(entry)}\n`, { mode: 0o600 })
    count += 1
    this.lines.set(entry.orgId, count > TRIM_AT ? await this.trim(file) : count)
  }

  /** Cuts the file back to its newest AUDIT_KEEP entries; answers the lines left. */
  private async trim (file: string): Promise<number> {
    const handle = await open(file, 'r')
    try {
      const kept = parsedLines(await handle.readFile('utf8')).slice(-AUDIT_KEEP)
      await writeFileAtomic(file, kept.map(entry => JSON.stringify(entry) + '\n').join(''), 0o600)
      // The handle still reads the replaced file: what another process appended since the read above.
      const late = await handle.readFile('utf8')
      if (late !== '') await appendFile(file, late.endsWith('\n') ? late : `${late}\n`, { mode: 0o600 })
      return kept.length + late.split('\n').filter(line => line !== '').length
    } finally {
      await handle.close()
    }
  }

  private async read (orgId: string): Promise<AuditEntry[]> {
    try {
      return parsedLines(await readText(this.fileOf(orgId)))
    } catch (err) {
      throw new CertsError('CERTS_ERR_STORE', 'could not read the audit trail', { cause: err })
    }
  }

  private fileOf (orgId: string): string {
    return path.join(this.dir, `${orgId}.jsonl`)
  }

  private async inTurn<T> (orgId: string, step: () => Promise<T>): Promise<T> {
    const result = (this.turns.get(orgId) ?? Promise.resolve()).then(step)
    const settled = result.catch(() => {})
    this.turns.set(orgId, settled)
    // The map holds only organisations with work queued.
    void settled.then(() => { if (this.turns.get(orgId) === settled) this.turns.delete(orgId) })
    return await result
  }
}

/** The entries a file's lines hold, oldest first; a line that is not a whole entry (torn by a crash) is skipped. */
function parsedLines (content: string): AuditEntry[] {
  const entries: AuditEntry[] = []
  for (const line of content.split('\n')) {
    if (line === '') continue
    try {
      const entry = JSON.parse(line)
      if (typeof entry?.at === 'string' && typeof entry?.action === 'string') entries.push(entry as AuditEntry)
    } catch {}
  }
  return entries
}

async function readText (file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8')
  } catch (err: any) {
    if (err?.code === 'ENOENT') return ''
    throw err
  }
}
