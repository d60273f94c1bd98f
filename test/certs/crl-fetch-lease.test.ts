import assert from 'node:assert/strict'
import { CrlFetcher, type OrgRegistry } from '../../certs/index.js'
import { createLogSink } from '../support/log-sink.js'

/**
 * The CRL fetcher's turn (the store's `crl-fetch` lease) is renewed a third
 * of the way into it, timed by the process. A wall clock set back (an NTP
 * step, a VM resumed) must not stop the renewals: the lease would lapse in
 * the store while this process still fetched, and another would take it
 * and fetch too.
 */
describe('certs: the CRL fetch lease across a wall clock set back', function () {
  this.timeout(20_000)

  it('keeps renewing its lease after Date.now() jumps an hour back', async () => {
    let leases = 0
    const source = { url: 'http://127.0.0.1:9/never.crl', fromCertificate: false, everySeconds: 7 * 24 * 3600, setAt: new Date().toISOString() }
    const registry = {
      list: () => [{ org: { id: 'o' }, cas: [{ id: 'ca', kind: 'uploaded', crlSource: source }] }],
      get: () => undefined,
      store: { lease: async () => { leases++; return true } }
    } as unknown as OrgRegistry
    const fetcher = new CrlFetcher(registry, { log: createLogSink().logger, tickMs: 50, leaseMs: 1500 })
    const realNow = Date.now
    try {
      fetcher.start()
      await new Promise(resolve => setTimeout(resolve, 700))
      assert.ok(leases >= 1, 'the control: the lease is taken')
      const before = leases
      const offset = 3_600_000
      Date.now = () => realNow() - offset
      // Renewed every 500 ms: four or five times in 2.5 s whatever the wall clock says.
      await new Promise(resolve => setTimeout(resolve, 2500))
      assert.ok(leases - before >= 3, `${leases - before} renewals in 2.5 s after the clock went back`)
    } finally {
      Date.now = realNow
      fetcher.close()
    }
  })
})
