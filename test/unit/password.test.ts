import assert from 'node:assert/strict'
import { DUMMY_PASSWORD_HASH, hashPassword, isPasswordHash, PASSWORD_MAX_UNITS, passwordDigestMatches, passwordHashDigest, passwordRefusal, verifyPassword } from '../../certs/admin-api/operators/password.js'
import { normalisedLengths } from '../support/normalise-spy.js'

/** The console password's policy and its scrypt hash (certs/admin-api/operators/password.ts). */
describe('operator passwords (scrypt)', function () {
  this.timeout(30_000)
  const password = 'correct horse battery'

  const policy: Array<{ name: string, input: string, refused: boolean }> = [
    { name: '11 characters are too few', input: 'a'.repeat(11), refused: true },
    { name: '12 characters are enough', input: 'a'.repeat(12), refused: false },
    { name: 'characters are counted, not bytes nor UTF-16 units: 11 emoji are too few', input: '🔑'.repeat(11), refused: true },
    { name: '12 emoji are enough', input: '🔑'.repeat(12), refused: false },
    { name: '1024 characters are the most', input: 'a'.repeat(1024), refused: false },
    { name: '1025 characters are too many', input: 'a'.repeat(1025), refused: true },
    { name: 'the empty password is refused', input: '', refused: true }
  ]
  for (const c of policy) it(c.name, () => assert.equal(passwordRefusal(c.input) !== undefined, c.refused))

  it('never normalises a presented or new password longer than 4096 UTF-16 units (NFC is quadratic on combining marks)', async () => {
    const marks = 'a' + '\u0301\u0316'.repeat(150_000)
    const stored = await hashPassword(password)
    let verified: boolean | undefined
    const lengths = await normalisedLengths(async () => {
      verified = await verifyPassword(stored, marks)
      assert.match(passwordRefusal(marks) ?? '', /at most 1024 characters/)
      assert.match(passwordRefusal('a'.repeat(PASSWORD_MAX_UNITS + 1)) ?? '', /at most 1024 characters/)
    })
    assert.equal(verified, false)
    assert.ok(lengths.every(length => length <= PASSWORD_MAX_UNITS), `normalised ${Math.max(...lengths)} units`)
    // At the bound it is normalised, and a decomposed password of 1024 characters is still one.
    assert.equal(passwordRefusal('e\u0301'.repeat(1024)), undefined)
    assert.equal((await normalisedLengths(async () => passwordRefusal('a'.repeat(PASSWORD_MAX_UNITS)))).length, 1)
  })

  it('keeps a self-describing scrypt string with its cost, a 16-byte salt and a 32-byte hash', async () => {
    const stored = await hashPassword(password)
    const [scheme, N, r, p, salt, hash] = stored.split('$')
    assert.deepEqual([scheme, N, r, p], ['scrypt', '32768', '8', '1'])
    assert.equal(Buffer.from(salt, 'base64').length, 16)
    assert.equal(Buffer.from(hash, 'base64').length, 32)
    assert.ok(!stored.includes(password))
  })

  it('salts each hash afresh: the same password twice gives two hashes, both verified', async () => {
    const [a, b] = [await hashPassword(password), await hashPassword(password)]
    assert.notEqual(a, b)
    assert.equal(await verifyPassword(a, password), true)
    assert.equal(await verifyPassword(b, password), true)
  })

  it('refuses a wrong password, a prefix of it, and one with a trailing space', async () => {
    const stored = await hashPassword(password)
    for (const wrong of ['correct horse battery!', 'correct horse', password + ' ', '']) assert.equal(await verifyPassword(stored, wrong), false, wrong)
  })

  it('takes a composed and a decomposed accent for the same password (NFC)', async () => {
    const stored = await hashPassword('mot de passe d\u00e9j\u00e0 vu')
    assert.equal(await verifyPassword(stored, 'mot de passe de\u0301ja\u0300 vu'), true)
  })

  it('verifies nothing against the dummy hash, and spends a scrypt on it', async () => {
    const started = Date.now()
    assert.equal(await verifyPassword(DUMMY_PASSWORD_HASH, password), false)
    assert.ok(Date.now() - started >= 10, 'the dummy hash was not computed')
  })

  it('refuses a malformed stored hash or one asking for an unbounded cost, without running it', async () => {
    const stored = await hashPassword(password)
    const parts = stored.split('$')
    for (const bad of ['', 'sha256$abc', parts.slice(0, 5).join('$'), ['scrypt', String(2 ** 30), ...parts.slice(2)].join('$'), ['scrypt', '1000', ...parts.slice(2)].join('$')]) {
      assert.equal(await verifyPassword(bad, password), false, bad)
    }
  })

  it('takes a stored cost up to N = 2^17, r = 16, p = 4 (256 MiB), and refuses any more without running it', () => {
    const salt = Buffer.alloc(16, 1).toString('base64')
    const key = Buffer.alloc(32, 2).toString('base64')
    const hash = (N: number, r: number, p: number): string => `scrypt$${N}$${r}$${p}$${salt}$${key}`
    assert.equal(isPasswordHash(hash(2 ** 15, 8, 1)), true)
    assert.equal(isPasswordHash(hash(2 ** 17, 16, 4)), true)
    for (const [N, r, p] of [[2 ** 18, 8, 1], [2 ** 20, 32, 1], [2 ** 17, 17, 1], [2 ** 15, 8, 5], [2 ** 15, 0, 1], [3 * 2 ** 14, 8, 1]]) {
      assert.equal(isPasswordHash(hash(N, r, p)), false, `N=${N} r=${r} p=${p}`)
    }
  })

  it('keeps for a session a digest that matches the stored hash it came from, and no other', async () => {
    const stored = await hashPassword(password)
    const digest = passwordHashDigest(stored)
    assert.match(digest, /^[0-9a-f]{64}$/)
    assert.equal(passwordDigestMatches(stored, digest), true)
    assert.equal(passwordDigestMatches(await hashPassword(password), digest), false)
    assert.equal(passwordDigestMatches(stored, digest.slice(0, 62)), false)
  })
})
