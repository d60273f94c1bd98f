import assert from 'node:assert/strict'
import { appendFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { pino } from 'pino'
import { AUDIT_KEEP, type AuditEntry } from '../../certs/audit-trail.js'
import { FileAuditTrail } from '../../certs/file-audit-trail.js'
import { makeTempDir } from '../support/temp-dir.js'

/** Issue 14: the audit trail on the file store outlives the process that wrote it. */

function entryOf (seq: number, orgId = 'acme', operator = 'alice', action = 'cert.revoke'): AuditEntry {
  return { at: new Date(Date.UTC(2030, 0, 1) + seq * 1000).toISOString(), actor: `operator:${operator}@127.0.0.1`, operator, action, orgId, fields: { seq } }
}

function seqs (entries: readonly AuditEntry[]): unknown[] {
  return entries.map(entry => entry.fields.seq)
}

describe('file audit trail', () => {
  let temp: { dir: string, remove: () => Promise<void> }
  const log = pino({ level: 'silent' })
  beforeEach(async () => { temp = await makeTempDir('audit-trail') })
  afterEach(async () => { await temp.remove() })

  it('keeps the entries for a new trail over the same data dir, newest first, filtered as before', async () => {
    const first = new FileAuditTrail(temp.dir, log)
    first.append(entryOf(1))
    first.append(entryOf(2, 'acme', 'bob', 'ca.add'))
    first.append(entryOf(3, 'other'))
    first.append(entryOf(4))
    await first.close()

    const second = new FileAuditTrail(temp.dir, log)
    assert.deepEqual(seqs(await second.list('acme', {})), [4, 2, 1])
    assert.deepEqual(seqs(await second.list('acme', { operator: 'alice' })), [4, 1])
    assert.deepEqual(seqs(await second.list('acme', { action: 'ca' })), [2])
    assert.deepEqual(seqs(await second.list('acme', { since: Date.parse(entryOf(2).at) })), [4, 2])
    assert.deepEqual(seqs(await second.list('other', {})), [3])
    assert.deepEqual(await second.list('nobody', {}), [])
    await second.close()

    assert.equal((await stat(path.join(temp.dir, 'audit'))).mode & 0o777, 0o700)
    assert.equal((await stat(path.join(temp.dir, 'audit', 'acme.jsonl'))).mode & 0o777, 0o600)
  })

  it('lists an entry appended just before, and keeps the order of appends made without waiting', async () => {
    const trail = new FileAuditTrail(temp.dir, log)
    for (let seq = 1; seq <= 200; seq++) trail.append(entryOf(seq))
    const listed = await trail.list('acme', {})
    assert.deepEqual(seqs(listed), Array.from({ length: 200 }, (_, i) => 200 - i))
    await trail.close()
  })

  it('cuts the file back to exactly the newest AUDIT_KEEP entries once it has grown past twice that', async () => {
    const trail = new FileAuditTrail(temp.dir, log)
    const total = 2 * AUDIT_KEEP + 1
    for (let seq = 1; seq <= total; seq++) trail.append(entryOf(seq))
    await trail.close()

    const lines = (await readFile(path.join(temp.dir, 'audit', 'acme.jsonl'), 'utf8')).split('\n').filter(line => line !== '')
    assert.equal(lines.length, AUDIT_KEEP)
    assert.equal(JSON.parse(lines[0]).fields.seq, total - AUDIT_KEEP + 1)
    assert.equal(JSON.parse(lines[lines.length - 1]).fields.seq, total)
    const listed = await new FileAuditTrail(temp.dir, log).list('acme', {})
    assert.equal(listed.length, AUDIT_KEEP)
    assert.deepEqual([listed[0].fields.seq, listed[AUDIT_KEEP - 1].fields.seq], [total, total - AUDIT_KEEP + 1])
  })

  it('skips a last line torn by a crash, and the next append after a restart starts on a line of its own', async () => {
    const dir = path.join(temp.dir, 'audit')
    await mkdir(dir, { recursive: true })
    const file = path.join(dir, 'acme.jsonl')
    await writeFile(file, `${JSON.stringify(entryOf(1))}\n${JSON.stringify(entryOf(2))}\n`)
    await appendFile(file, JSON.stringify(entryOf(3)).slice(0, 40))

    const trail = new FileAuditTrail(temp.dir, log)
    assert.deepEqual(seqs(await trail.list('acme', {})), [2, 1])
    trail.append(entryOf(4))
    assert.deepEqual(seqs(await trail.list('acme', {})), [4, 2, 1])
    await trail.close()
  })
})
