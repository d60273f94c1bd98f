import assert from 'node:assert/strict'
import { serverNameOf } from '../../access/index.js'
import {
  createCsr, generateKeyPair, inspectCertificate, isCertsError, issueClientCert, openRegistry, renew, renewableFrom, restoreCert, RetirementSweeper, revokeCert,
  setRenewalWindow, type IssuedCertRecord, type OrgRegistry
} from '../../certs/index.js'
import { testKeyRing } from '../support/kek.js'
import { createLogSink, type LogSink } from '../support/log-sink.js'
import { makeTempDir } from '../support/temp-dir.js'

const DAY_MS = 24 * 60 * 60 * 1000

/**
 * renew() as every transport calls it (EST now, MQTT next), on a registry in
 * the data dir: the refusals the identity path does not already make over
 * HTTPS, the window's edge, and retirement at the old certificate's expiry
 * when its replacement is never used.
 */
describe('renew(): renewal with the current certificate, transport-neutral', function () {
  this.timeout(30_000)
  let temp: { dir: string, remove: () => Promise<void> }
  let registry: OrgRegistry
  let logs: LogSink
  const keys = generateKeyPair('ec')

  before(async () => {
    temp = await makeTempDir('renewal')
    logs = createLogSink()
    registry = await openRegistry({ dataDir: temp.dir, serverNameFor: orgId => serverNameOf(orgId, 'localhost'), log: logs.logger, crlUrlTemplate: 'https://{org}.messaging.localhost:8443/crl/{org}.crl', keys: testKeyRing() })
    await registry.createOrg('acme')
  })
  after(async () => {
    await registry.close()
    await temp.remove()
  })

  async function recorded (commonName: string, days = 10): Promise<IssuedCertRecord> {
    return (await issueClientCert(registry, 'acme', { commonName, csrPem: createCsr(keys.privateKeyPem, commonName, []), days }, 'test')).record
  }

  async function refusal (promise: Promise<unknown>): Promise<string> {
    try {
      await promise
    } catch (err) {
      if (isCertsError(err)) return err.code
      throw err
    }
    return 'renewed'
  }

  const csrFor = (commonName: string): string => createCsr(keys.privateKeyPem, commonName, [])

  it('refuses a revoked certificate (CERTS_ERR_RENEW_REVOKED), and renews it once restored', async () => {
    await setRenewalWindow(registry, 'acme', 'any', 'test')
    const current = await recorded('d:sensor:rv')
    await revokeCert(registry, 'acme', current.id, 'test')
    assert.equal(await refusal(renew(registry, 'acme', current, csrFor('d:sensor:rv'), 'test')), 'CERTS_ERR_RENEW_REVOKED')
    await restoreCert(registry, 'acme', current.id, 'test')
    assert.equal(await refusal(renew(registry, 'acme', current, csrFor('d:sensor:rv'), 'test')), 'renewed')
  })

  it('refuses an expired certificate (CERTS_ERR_RENEW_EXPIRED)', async () => {
    await setRenewalWindow(registry, 'acme', 'any', 'test')
    const current = await recorded('d:sensor:ex', 1)
    const afterExpiry = new Date(Date.parse(current.expiresOn) + 1000)
    assert.equal(await refusal(renew(registry, 'acme', current, csrFor('d:sensor:ex'), 'test', afterExpiry)), 'CERTS_ERR_RENEW_EXPIRED')
  })

  it('opens the window at the last N % of the lifetime: refused a minute before, renewed a minute after', async () => {
    await setRenewalWindow(registry, 'acme', '30%', 'test')
    const current = await recorded('d:sensor:edge', 10)
    const facts = inspectCertificate(current.certPem)
    const from = renewableFrom(facts.notBefore, facts.notAfter, 30)
    assert.ok(Math.abs(facts.notAfter.getTime() - from.getTime() - 3 * DAY_MS) < 5 * 60 * 1000, 'about 3 of 10 days')
    assert.equal(await refusal(renew(registry, 'acme', current, csrFor('d:sensor:edge'), 'test', new Date(from.getTime() - 60_000))), 'CERTS_ERR_RENEW_TOO_EARLY')
    assert.equal(await refusal(renew(registry, 'acme', current, csrFor('d:sensor:edge'), 'test', new Date(from.getTime() + 60_000))), 'renewed')
  })

  it('retires the old certificate at its own expiry when the new one is never used', async () => {
    await setRenewalWindow(registry, 'acme', 'any', 'test')
    const current = await recorded('d:sensor:idle', 2)
    await renew(registry, 'acme', current, csrFor('d:sensor:idle'), 'test')
    let now = new Date(Date.parse(current.expiresOn) - 1000)
    const sweeper = new RetirementSweeper(registry, { graceMs: 600_000, log: logs.logger, now: () => now })
    await sweeper.sweepOnce()
    const revoked = (): boolean => registry.require('acme').revocations.some(r => r.certId === current.id)
    assert.equal(revoked(), false, 'not before its expiry')
    now = new Date(Date.parse(current.expiresOn) + 1000)
    await sweeper.sweepOnce()
    assert.equal(revoked(), true)
    assert.equal(logs.lines.find(l => l.action === 'cert.retire' && l.certId === current.id)?.reason, 'expiry')
    await sweeper.close()
  })
})
