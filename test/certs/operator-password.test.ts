import assert from 'node:assert/strict'
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { adminCaFile } from '../../certs/index.js'
import { OperatorAdmin } from '../../certs/admin-api/operators/operator-admin.js'
import { hashToken } from '../../certs/admin-api/operators/operator.js'
import { FileOperatorStore } from '../../certs/admin-api/operators/file-operator-store.js'
import { createLogSink } from '../support/log-sink.js'
import { ADMIN_TOKEN, adminRequest, startTestStack, type HttpAnswer, type TestStack } from '../support/stack.js'

/**
 * An operator's own console password over the admin API
 * (`PUT|DELETE /operators/self/password`, `GET /operators/self`): set and
 * cleared by the operator itself, refused to the bootstrap token and below the
 * policy, audited, kept as scrypt, and never in an answer or a log line.
 */
describe('operator passwords (admin API)', function () {
  this.timeout(120_000)
  const password = 'a long enough passphrase'
  let stack: TestStack
  let caPem: string
  let alice: string

  const call = async (token: string, method: string, route: string, body?: unknown): Promise<HttpAnswer> =>
    await adminRequest(stack.adminPort, caPem, token, method, route, body)
  const recordOf = (name: string): Record<string, any> => {
    const dir = path.join(stack.dataDir, 'admin', 'operators')
    const records = readdirSync(dir).map(f => JSON.parse(readFileSync(path.join(dir, f), 'utf8')))
    return records.find(r => r.name === name && r.revokedAt === undefined)
  }

  before(async () => {
    stack = await startTestStack()
    caPem = readFileSync(adminCaFile(stack.dataDir), 'utf8')
    alice = (await call(ADMIN_TOKEN, 'POST', '/operators', { name: 'alice', role: 'viewer', orgs: ['demo'] })).body.token
  })
  after(async () => await stack?.close())

  it('lets a viewer set its own password: stored as scrypt, answered and listed as password_set only, audited', async () => {
    const set = await call(alice, 'PUT', '/operators/self/password', { password })
    assert.equal(set.status, 200, set.text)
    assert.equal(set.body.name, 'alice')
    assert.equal(set.body.password_set, true)
    assert.match(recordOf('alice').passwordHash, /^scrypt\$32768\$8\$1\$/)
    const self = await call(alice, 'GET', '/operators/self')
    assert.deepEqual([self.body.name, self.body.bootstrap, self.body.password_set], ['alice', false, true])
    const listed = await call(ADMIN_TOKEN, 'GET', '/operators')
    assert.equal(listed.body.operators.find((o: any) => o.name === 'alice').password_set, true)
    const hash = recordOf('alice').passwordHash as string
    for (const answer of [set, self, listed]) {
      assert.ok(!answer.text.includes('scrypt') && !answer.text.includes(hash.split('$')[5]) && !answer.text.includes(password), answer.text)
    }
    const audit = stack.logs.find(l => l.event === 'audit' && l.action === 'operator.password-set')
    assert.equal(audit?.operator, 'alice')
    assert.match(audit?.actor, /^operator:alice@/)
  })

  it('refuses a password under 12 or over 1024 characters with ADMIN_ERR_PASSWORD_WEAK, and keeps the one set', async () => {
    for (const weak of ['short', 'x'.repeat(11), 'x'.repeat(1025)]) {
      const refused = await call(alice, 'PUT', '/operators/self/password', { password: weak })
      assert.equal(refused.status, 400, refused.text)
      assert.equal(refused.body.error.code, 'ADMIN_ERR_PASSWORD_WEAK')
    }
    assert.equal((await call(alice, 'GET', '/operators/self')).body.password_set, true)
  })

  it('refuses the bootstrap token, which has no operator record, with ADMIN_ERR_BOOTSTRAP_NO_PASSWORD', async () => {
    const refused = await call(ADMIN_TOKEN, 'PUT', '/operators/self/password', { password })
    assert.equal(refused.status, 403)
    assert.equal(refused.body.error.code, 'ADMIN_ERR_BOOTSTRAP_NO_PASSWORD')
    assert.equal((await call(ADMIN_TOKEN, 'DELETE', '/operators/self/password')).body.error.code, 'ADMIN_ERR_BOOTSTRAP_NO_PASSWORD')
    const self = await call(ADMIN_TOKEN, 'GET', '/operators/self')
    assert.deepEqual([self.body.bootstrap, self.body.password_set], [true, false])
  })

  it('keeps the password through a token rotation', async () => {
    const before = recordOf('alice').passwordHash
    const rotated = await call(ADMIN_TOKEN, 'POST', '/operators/alice/rotate')
    assert.equal(rotated.status, 200)
    alice = rotated.body.token
    assert.equal(recordOf('alice').passwordHash, before)
  })

  it('clears the password: the record keeps no hash, audited', async () => {
    const cleared = await call(alice, 'DELETE', '/operators/self/password')
    assert.equal(cleared.status, 200, cleared.text)
    assert.equal(cleared.body.password_set, false)
    assert.equal(recordOf('alice').passwordHash, undefined)
    assert.ok(stack.logs.find(l => l.event === 'audit' && l.action === 'operator.password-clear' && l.operator === 'alice'))
  })

  it('refuses password changes beyond the process\'s 2 running and 8 waiting scrypts with 503 ADMIN_ERR_PASSWORD_BUSY, logged', async () => {
    const answers = await Promise.all(Array.from({ length: 32 }, async () => await call(alice, 'PUT', '/operators/self/password', { password })))
    const busy = answers.filter(a => a.status === 503)
    assert.ok(busy.length > 0 && busy.length <= 32 - 10, answers.map(a => a.status).join(' '))
    assert.ok(busy.every(a => a.body.error.code === 'ADMIN_ERR_PASSWORD_BUSY'))
    assert.ok(answers.every(a => a.status === 503 || a.status === 200), answers.map(a => a.status).join(' '))
    assert.equal(stack.logs.lines.filter(l => l.event === 'admin.refused' && l.code === 'ADMIN_ERR_PASSWORD_BUSY').length, busy.length)
  })

  it('lets an admin clear another operator\'s password (DELETE /operators/:name/password), audited with the admin as actor; not a viewer', async () => {
    assert.equal((await call(alice, 'PUT', '/operators/self/password', { password })).status, 200)
    const bob = (await call(ADMIN_TOKEN, 'POST', '/operators', { name: 'bob', role: 'viewer', orgs: ['demo'] })).body.token
    const refused = await call(bob, 'DELETE', '/operators/alice/password')
    assert.equal(refused.status, 403)
    assert.equal(refused.body.error.code, 'ADMIN_ERR_FORBIDDEN_ROLE')
    assert.notEqual(recordOf('alice').passwordHash, undefined)
    const cleared = await call(ADMIN_TOKEN, 'DELETE', '/operators/alice/password')
    assert.equal(cleared.status, 200, cleared.text)
    assert.deepEqual([cleared.body.name, cleared.body.password_set], ['alice', false])
    assert.equal(recordOf('alice').passwordHash, undefined)
    const audit = stack.logs.lines.filter(l => l.event === 'audit' && l.action === 'operator.password-clear' && l.operator === 'alice').at(-1)
    assert.match(audit?.actor, /^admin@/)
    assert.equal((await call(ADMIN_TOKEN, 'DELETE', '/operators/nobody/password')).body.error.code, 'ADMIN_ERR_OPERATOR_NOT_FOUND')
    // The admin's own stays its own route: /operators/self/password is the caller's, and no operator may be named self.
    assert.equal((await call(ADMIN_TOKEN, 'DELETE', '/operators/self/password')).body.error.code, 'ADMIN_ERR_BOOTSTRAP_NO_PASSWORD')
    const self = await call(ADMIN_TOKEN, 'POST', '/operators', { name: 'self', role: 'viewer', orgs: ['demo'] })
    assert.equal(self.status, 400)
    assert.equal(self.body.error.code, 'ADMIN_ERR_OPERATOR_INVALID')
  })

  it('writes no password nor hash into any log line', () => {
    const text = stack.logs.text()
    for (const secret of [password, 'x'.repeat(11), 'scrypt$']) assert.ok(!text.includes(secret), `a log line holds ${secret}`)
  })

  it('spends a scrypt on an unknown name as on a known one, so the time tells nothing', async () => {
    const operators = new OperatorAdmin(new FileOperatorStore(stack.dataDir), undefined as any, createLogSink().logger)
    assert.equal((await call(alice, 'PUT', '/operators/self/password', { password })).status, 200)
    const timed = async (name: string): Promise<number> => {
      const started = process.hrtime.bigint()
      assert.equal(await operators.authenticatePassword(name, 'not the password at all'), undefined)
      return Number(process.hrtime.bigint() - started) / 1e6
    }
    const known = Math.min(await timed('alice'), await timed('alice'), await timed('alice'))
    const unknown = Math.min(await timed('nobody'), await timed('nobody'), await timed('nobody'))
    assert.ok(unknown >= known * 0.5, `unknown name ${unknown} ms, known ${known} ms`)
    assert.ok((await operators.authenticatePassword('alice', password))?.principal.name === 'alice')
  })

  it('answers GET /operators and bearer checks past records of the store no operator can have: skipped, logged once, no access widened', async () => {
    const dir = path.join(stack.dataDir, 'admin', 'operators')
    const token = `mqg_00000000000000e2_${'M'.repeat(43)}`
    const planted = [
      { id: '00000000000000e1', name: 'alice', role: 'viewer', orgs: ['demo'], tokenHash: 'e1'.repeat(32), revokedAt: '2030-02-01T00:00:00.000Z' },
      { id: '00000000000000e2', name: 'mallory', role: 'viewer', orgs: 'demo-staging', tokenHash: hashToken(token), createdAt: '2030-01-01T00:00:00.000Z' },
      { id: '00000000000000e3', name: 'notoken', role: 'viewer', orgs: ['demo'], createdAt: '2030-01-01T00:00:00.000Z' }
    ]
    for (const record of planted) writeFileSync(path.join(dir, `${record.id}.json`), JSON.stringify(record))
    for (let i = 0; i < 2; i++) {
      const listed = await call(ADMIN_TOKEN, 'GET', '/operators')
      assert.equal(listed.status, 200, listed.text)
      assert.deepEqual(listed.body.operators.map((o: any) => o.name), ['alice', 'bob'])
    }
    assert.equal((await call(token, 'GET', '/orgs/demo')).status, 401)
    assert.equal((await call(`mqg_00000000000000e3_${'M'.repeat(43)}`, 'GET', '/orgs/demo')).status, 401)
    const skipped = stack.logs.lines.filter(l => l.event === 'operators.record-skipped')
    assert.deepEqual(skipped.map(l => [l.recordId, l.problem.split(' ')[0]]).sort(), [['00000000000000e1', 'createdAt'], ['00000000000000e2', 'orgs'], ['00000000000000e3', 'tokenHash']])
  })
})
