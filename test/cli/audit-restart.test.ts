import assert from 'node:assert/strict'
import { startMqgateProcess } from '../support/mqgate-process.js'
import { makeTempDir } from '../support/temp-dir.js'

/** Issue 14: without Redis the audit page shows, after a restart, what was done before it. */
describe('mqgate audit across a restart of mqgate start (file store)', function () {
  this.timeout(90_000)
  let temp: { dir: string, remove: () => Promise<void> }

  before(async () => { temp = await makeTempDir('audit-restart') })
  after(async () => await temp.remove())

  it('lists the changes made before the restart', async () => {
    const first = await startMqgateProcess({}, { dataDir: temp.dir })
    try {
      await first.issue('d:sensor:before-restart')
    } finally {
      await first.stop()
    }
    const second = await startMqgateProcess({}, { dataDir: temp.dir })
    try {
      const listed = await second.cli(['audit', 'demo', '--json'])
      assert.equal(listed.status, 0, listed.stderr)
      const entries: Array<{ action: string, commonName?: string }> = JSON.parse(listed.stdout).entries
      assert.ok(entries.some(entry => entry.action === 'org.create'), listed.stdout)
      assert.ok(entries.some(entry => entry.action === 'cert.issue' && entry.commonName === 'd:sensor:before-restart'), listed.stdout)
    } finally {
      await second.stop()
    }
  })
})
