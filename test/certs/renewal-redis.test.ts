import assert from 'node:assert/strict'
import { serverNameOf } from '../../access/index.js'
import {
  createCsr, FirstUseRecorder, generateKeyPair, issueClientCert, openRegistry, renew, RetirementSweeper, setRenewalWindow, type IssuedCertRecord, type OrgRegistry
} from '../../certs/index.js'
import { testKeyRing } from '../support/kek.js'
import { createLogSink, type LogSink } from '../support/log-sink.js'
import { sleep } from '../support/mqtt-client.js'
import { redisServerAvailable, startTestRedis, type TestRedis } from '../support/redis-server.js'
import { within } from '../support/stack.js'
import { makeTempDir } from '../support/temp-dir.js'

const GRACE_MS = 1500

/** One gateway process's renewal machinery: its registry on the shared Redis, its first-use recorder and its retirement sweeper. */
interface Process {
  readonly registry: OrgRegistry
  readonly logs: LogSink
  readonly firstUse: FirstUseRecorder
  readonly sweeper?: RetirementSweeper
  close (): Promise<void>
}

/**
 * Two processes sharing a private redis-server: a first use seen by both at
 * once is recorded once, the old certificate is retired once, when due (not
 * before), and a retirement pending when every process stops is carried out
 * by the next one to start, from the stored records.
 */
describe('renewal retirement across processes on Redis', function () {
  this.timeout(60_000)
  let redis: TestRedis
  let temp: { dir: string, remove: () => Promise<void> }
  const open: Process[] = []

  before(async function () {
    if (!redisServerAvailable()) this.skip()
    redis = await startTestRedis()
    temp = await makeTempDir('renewal-redis')
    const first = await start({ sweeper: false })
    await first.registry.createOrg('acme')
    await setRenewalWindow(first.registry, 'acme', 'any', 'test')
  })
  after(async () => {
    for (const p of open.splice(0)) await p.close()
    await redis?.stop()
    await temp?.remove()
  })

  async function start (options: { sweeper: boolean }): Promise<Process> {
    const logs = createLogSink()
    const registry = await openRegistry({ dataDir: temp.dir, redisUrl: redis.url, serverNameFor: orgId => serverNameOf(orgId, 'localhost'), log: logs.logger, crlUrlTemplate: 'https://{org}.messaging.localhost:8443/crl/{org}.crl', keys: testKeyRing() })
    const sweeper = options.sweeper ? new RetirementSweeper(registry, { graceMs: GRACE_MS, log: logs.logger, intervalMs: 50 }) : undefined
    sweeper?.start()
    const process: Process = {
      registry,
      logs,
      firstUse: new FirstUseRecorder(registry, logs.logger),
      sweeper,
      async close () {
        open.splice(open.indexOf(process), 1)
        await sweeper?.close()
        await registry.close()
      }
    }
    open.push(process)
    return process
  }

  /** A recorded certificate and its renewal through renew(), on `on`. */
  async function renewed (on: Process, commonName: string): Promise<{ old: IssuedCertRecord, renewal: IssuedCertRecord }> {
    const { record: old } = await issueClientCert(on.registry, 'acme', { commonName }, 'test')
    const keys = generateKeyPair('ec')
    const { record: renewal } = await renew(on.registry, 'acme', old, createCsr(keys.privateKeyPem, commonName, []), 'test')
    return { old, renewal }
  }

  const audits = (processes: readonly Process[], action: string, field: string, value: string): number =>
    processes.reduce((n, p) => n + p.logs.lines.filter(l => l.event === 'audit' && l.action === action && l[field] === value).length, 0)
  const revoked = (p: Process, cert: IssuedCertRecord): boolean => p.registry.require('acme').revocations.some(r => r.fingerprint === cert.fingerprint)

  it('records a first use seen by two processes at once once, and retires the old certificate once, when due', async () => {
    const a = await start({ sweeper: true })
    const b = await start({ sweeper: true })
    const { old, renewal } = await renewed(a, 'd:sensor:shared')
    await within(5000, async () => b.registry.require('acme').renewals?.some(r => r.certId === renewal.id) === true ? true : undefined)
    // The new certificate connects to both processes at the same moment.
    a.firstUse.note('acme', renewal.fingerprint)
    b.firstUse.note('acme', renewal.fingerprint)
    const used = await within(5000, async () => b.registry.require('acme').renewals?.find(r => r.certId === renewal.id)?.firstUsedAt)
    assert.equal(audits([a, b], 'cert.first-use', 'certId', renewal.id), 1)
    await sleep(Math.max(0, Date.parse(used) + GRACE_MS / 2 - Date.now()))
    assert.equal(revoked(a, old) || revoked(b, old), false, 'not before the grace')
    await within(5000, async () => revoked(a, old) && revoked(b, old) ? true : undefined)
    assert.ok(Date.now() - Date.parse(used) >= GRACE_MS - 100)
    await sleep(500)
    assert.equal(audits([a, b], 'cert.retire', 'certId', old.id), 1)
    assert.equal(audits([a, b], 'cert.revoke', 'certId', old.id), 1)
    assert.equal(revoked(a, renewal), false, 'only the replaced certificate is revoked')
    assert.equal(await a.registry.store.get('acme', 'renewals', old.id), undefined)
    await a.close()
    await b.close()
  })

  it('leaves one live replacement when two processes renew the same certificate at once', async () => {
    const a = await start({ sweeper: false })
    const b = await start({ sweeper: false })
    const { record: old } = await issueClientCert(a.registry, 'acme', { commonName: 'd:sensor:race' }, 'test')
    const keys = generateKeyPair('ec')
    const csr = createCsr(keys.privateKeyPem, 'd:sensor:race', [])
    const outcomes = await Promise.allSettled([renew(a.registry, 'acme', old, csr, 'test'), renew(b.registry, 'acme', old, csr, 'test')])
    // Overlapping, one is refused; one after the other, the second is a retry (the first replacement is unused) and supersedes it.
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected').map(o => (o.reason as { code?: string }).code)
    assert.ok(refused.length <= 1 && refused.every(code => code === 'CERTS_ERR_RENEW_IN_PROGRESS'), JSON.stringify(refused))
    const replacements = (await a.registry.store.list('acme', 'issued')).filter(r => r.replaces === old.id)
    assert.equal(replacements.length, 2 - refused.length)
    await a.registry.reload('acme')
    const live = replacements.filter(r => !a.registry.require('acme').revocations.some(v => v.fingerprint === r.fingerprint))
    assert.equal(live.length, 1, 'exactly one replacement is live')
    assert.equal((await a.registry.store.get('acme', 'renewals', old.id))?.certId, live[0].id, 'and the renewal names it')
    await a.close()
    await b.close()
  })

  it('carries out a retirement pending when every process stopped, from the stored records', async () => {
    const a = await start({ sweeper: false })
    const { old, renewal } = await renewed(a, 'd:sensor:restart')
    const other = await renewed(a, 'd:sensor:unused')
    a.firstUse.note('acme', renewal.fingerprint)
    await within(5000, async () => a.registry.require('acme').renewals?.find(r => r.certId === renewal.id)?.firstUsedAt)
    await a.close()
    const c = await start({ sweeper: true })
    await within(GRACE_MS + 5000, async () => revoked(c, old) ? true : undefined)
    assert.equal(audits([c], 'cert.retire', 'certId', old.id), 1)
    // The renewal nobody used yet stays pending: only the due one is retired.
    await sleep(300)
    assert.equal(revoked(c, other.old), false)
    assert.ok(c.registry.require('acme').renewals?.some(r => r.id === other.old.id))
    await c.close()
  })
})
