import assert from 'node:assert/strict'
import { setImmediate as tick } from 'node:timers/promises'
import { PASSWORD_GATE, PASSWORD_IN_FLIGHT, PASSWORD_QUEUED, PasswordGate } from '../../certs/admin-api/operators/password-gate.js'
import { AdminError } from '../../certs/admin-api/errors.js'
import { hashPassword } from '../../certs/admin-api/operators/password.js'

/** The process-wide cap on scrypt work (certs/admin-api/operators/password-gate.ts). */
describe('password gate', function () {
  this.timeout(30_000)

  /** Work that runs until released, recording how many run at once. */
  const heldWork = (): { running: () => number, most: () => number, release: () => void, work: () => Promise<string> } => {
    let running = 0
    let most = 0
    const releases: Array<() => void> = []
    let released = false
    return {
      running: () => running,
      most: () => most,
      release: () => { released = true; for (const r of releases.splice(0)) r() },
      work: async () => {
        running++
        most = Math.max(most, running)
        if (!released) await new Promise<void>(resolve => releases.push(resolve))
        running--
        return 'done'
      }
    }
  }

  it('runs 2 at once, queues 8, and refuses one more at once with ADMIN_ERR_PASSWORD_BUSY; the queued ones all run after', async () => {
    assert.deepEqual([PASSWORD_IN_FLIGHT, PASSWORD_QUEUED], [2, 8])
    const gate = new PasswordGate()
    const held = heldWork()
    const results = Array.from({ length: 13 }, async () => await gate.run(held.work).catch((err: unknown) => err))
    await tick()
    assert.equal(held.running(), 2)
    held.release()
    const answers = await Promise.all(results)
    assert.deepEqual(answers.slice(0, 10), new Array(10).fill('done'))
    for (const refused of answers.slice(10)) {
      assert.ok(refused instanceof AdminError && refused.code === 'ADMIN_ERR_PASSWORD_BUSY', String(refused))
    }
    assert.equal(held.most(), 2)
    // Every place is free again.
    const again = heldWork()
    again.release()
    assert.deepEqual(await Promise.all(Array.from({ length: 10 }, async () => await gate.run(again.work))), new Array(10).fill('done'))
  })

  it('frees its place when the work fails', async () => {
    const gate = new PasswordGate(1, 0)
    await assert.rejects(gate.run(async () => { throw new Error('scrypt failed') }), /scrypt failed/)
    assert.equal(await gate.run(async () => 'ran'), 'ran')
  })

  it('is what hashing passes: more hashes at once than it holds are refused', async () => {
    const held = heldWork()
    const holding = Array.from({ length: PASSWORD_IN_FLIGHT + PASSWORD_QUEUED }, async () => await PASSWORD_GATE.run(held.work))
    await tick()
    await assert.rejects(hashPassword('correct horse battery'), (err: unknown) => err instanceof AdminError && err.code === 'ADMIN_ERR_PASSWORD_BUSY')
    held.release()
    await Promise.all(holding)
    assert.match(await hashPassword('correct horse battery'), /^scrypt\$/)
  })
})
