import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import type { OrgRegistry } from '../../certs/index.js'
import { IssuedSerials } from '../../certs/ocsp/issued-serials.js'

/**
 * The responder's set of issued serials (certs/ocsp/issued-serials.ts). The
 * PKI HTTP port is public and the CertID of a managed CA is public too, so
 * anyone can ask about made-up serials of it: each one not in the set makes
 * the organisation's whole `issued` collection be listed again (every
 * certificate it ever issued). Over a store with one record per
 * certificate, that listing is what a flood of such questions must not
 * repeat once a second for as long as it lasts.
 */
describe('certs: the OCSP responder\'s issued serials under questions about made-up serials', function () {
  this.timeout(30_000)

  /** A registry whose store counts the listings of `issued` and serves `records`. */
  function registryWith (records: Array<{ caId: string, serial: string }>): { registry: OrgRegistry, listings: () => number } {
    let listings = 0
    const state = { org: { id: 'flood', managedCaId: 'ca-1' }, cas: [{ id: 'ca-1', kind: 'managed' }] }
    const registry = {
      require: () => state,
      store: { list: async () => { listings++; return [...records] } }
    } as unknown as OrgRegistry
    return { registry, listings: () => listings }
  }

  const madeUp = (): string => '1' + randomBytes(16).toString('hex').toUpperCase()

  it('lists the issued certificates less and less often while the questions find nothing new, and still finds one issued meanwhile', async () => {
    const records = [{ caId: 'ca-1', serial: '0a' }]
    const { registry, listings } = registryWith(records)
    const serials = new IssuedSerials(registry)
    assert.equal(await serials.has('flood', 'A'), true, 'the control: an issued serial is known (normalizeSerial form)')
    const first = listings()
    // Seven seconds of questions about serials nobody issued, ten a second.
    const until = Date.now() + 7_000
    const asked: Array<Promise<boolean>> = []
    while (Date.now() < until) {
      asked.push(serials.has('flood', madeUp()))
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    assert.deepEqual(new Set(await Promise.all(asked)), new Set([false]))
    // Once a second would be seven listings; backing off (1, 2, 4 s) makes three or four.
    assert.ok(listings() - first <= 4, `${listings() - first} listings of every issued certificate in 7 s of made-up serials`)
    // A certificate issued now is still found: its question waits for the next listing (at most 8 s away).
    records.push({ caId: 'ca-1', serial: '0b' })
    assert.equal(await serials.has('flood', 'B'), true)
  })
})
