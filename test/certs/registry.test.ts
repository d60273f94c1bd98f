import assert from 'node:assert/strict'
import { readdir, stat } from 'node:fs/promises'
import path from 'node:path'
import {
  addCa, setCaEnabled, uploadServerCert, issueClientCert, listIssued, revokeCert, FileRegistryStore, OrgRegistry, activeServerCertOf, inspectCertificate, managedCaOf,
  trustedCasOf, backupRegistry, parseBackup, restoreRegistry, createClaim, createEnrollToken, type RegistryStore
} from '../../certs/index.js'
import { createLogSink } from '../support/log-sink.js'
import { mintCa, mintClient } from '../support/pki.js'
import { makeTempDir } from '../support/temp-dir.js'
import { encrypted, eventually, fileStores, redisStores } from '../support/registry-stores.js'
import { serverNameOf } from '../../access/index.js'

/**
 * A store whose next readOrg reads at once but answers only on `release()`:
 * a reload that read the old state and is slow to apply it, as a watch-started
 * reload of a busy process is.
 */
function heldOnce (inner: RegistryStore): { store: RegistryStore, holdNextRead: <T>(start: () => Promise<T>) => Promise<T>, read: Promise<void>, release: () => void } {
  let hold: Promise<void> | undefined
  let release = (): void => {}
  let markRead = (): void => {}
  const read = new Promise<void>(resolve => { markRead = resolve })
  const store = new Proxy(inner, {
    get (target, prop) {
      if (prop !== 'readOrg') {
        const value = Reflect.get(target, prop, target)
        return typeof value === 'function' ? value.bind(target) : value
      }
      return async (orgId: string) => {
        const mine = hold
        hold = undefined
        const state = await target.readOrg(orgId)
        if (mine !== undefined) {
          markRead()
          await mine
        }
        return state
      }
    }
  })
  return {
    store,
    read,
    release: () => release(),
    holdNextRead: async start => {
      hold = new Promise(resolve => { release = resolve })
      return await start()
    }
  }
}

for (const factory of [fileStores(), redisStores(), encrypted(fileStores()), encrypted(redisStores())]) {
  describe(`registry on ${factory.name}`, () => {
    let registry: OrgRegistry
    const logs = createLogSink()

    before(async () => {
      await factory.setUp()
      registry = await OrgRegistry.open(factory.open(), { serverNameFor: orgId => serverNameOf(orgId, 'example.test'), log: logs.logger })
    })
    after(async () => {
      await registry.close()
      await factory.tearDown()
    })

    it('creates an organisation with a managed CA that signs its server certificate', async () => {
      const state = await registry.createOrg('acme', ['127.0.0.1'])
      const ca = managedCaOf(state)
      const server = inspectCertificate(activeServerCertOf(state).certPem)
      assert.equal(ca.kind, 'managed')
      assert.equal(inspectCertificate(ca.certPem).isCA, true)
      assert.deepEqual(server.sanDnsNames, ['acme.messaging.example.test'])
      assert.deepEqual(server.sanIps, ['127.0.0.1'])
      assert.ok(server.x509.checkIssued(inspectCertificate(ca.certPem).x509))
      assert.deepEqual(trustedCasOf(state).map(c => c.id), [ca.id])
    })

    it('refuses to create an organisation twice', async () => {
      await assert.rejects(registry.createOrg('acme'), { code: 'CERTS_ERR_ORG_EXISTS' })
    })

    it('refuses an organisation id that is not a DNS label', async () => {
      for (const bad of ['Acme', 'a.b', 'a_b', '-a', 'a-', '', 'x'.repeat(64), 'a/b', 'a:b']) {
        await assert.rejects(registry.createOrg(bad), { code: 'CERTS_ERR_ORG_INVALID' }, bad)
      }
    })

    it('adds an operator CA, refuses it twice, and refuses a certificate that is not a CA', async () => {
      const operator = mintCa('Operator')
      const record = await addCa(registry, 'acme', operator.certPem, 'line 1', 'test')
      assert.equal(record.enabled, true)
      assert.equal(trustedCasOf(registry.require('acme')).length, 2)
      await assert.rejects(addCa(registry, 'acme', operator.certPem, '', 'test'), { code: 'CERTS_ERR_CA_EXISTS' })
      await assert.rejects(addCa(registry, 'acme', mintClient(operator, 'd:s:1').certPem, '', 'test'), { code: 'CERTS_ERR_NOT_A_CA' })
      await assert.rejects(addCa(registry, 'acme', 'not a certificate', '', 'test'), { code: 'CERTS_ERR_CERT_UNPARSABLE' })
      await assert.rejects(addCa(registry, 'nobody', operator.certPem, '', 'test'), { code: 'CERTS_ERR_ORG_NOT_FOUND' })
      assert.equal(registry.require('acme').cas.length, 2, 'a refused upload changes nothing')
    })

    it('disables and enables a CA', async () => {
      const operator = registry.require('acme').cas.find(c => c.kind === 'uploaded')
      assert.ok(operator)
      await setCaEnabled(registry, 'acme', operator.id, false, 'test')
      assert.deepEqual(trustedCasOf(registry.require('acme')).map(c => c.kind), ['managed'])
      await setCaEnabled(registry, 'acme', operator.id, true, 'test')
      assert.equal(trustedCasOf(registry.require('acme')).length, 2)
    })

    it('refuses a server certificate for another organisation\'s name', async () => {
      const other = await registry.createOrg('globex')
      const mismatched = activeServerCertOf(other)
      const acmeKey = activeServerCertOf(registry.require('acme')).keyPem
      await assert.rejects(uploadServerCert(registry, 'acme', { certificate: mismatched.certPem, keyPem: acmeKey }, 'test'), { code: 'CERTS_ERR_SERVER_NAME' })
    })

    it('tells a second registry on the same store about a change', async () => {
      const second = await OrgRegistry.open(factory.open(), { serverNameFor: orgId => serverNameOf(orgId, 'example.test'), log: logs.logger })
      try {
        const changed: string[] = []
        second.on('changed', orgId => changed.push(orgId))
        const operator = mintCa('Later CA')
        await addCa(registry, 'globex', operator.certPem, '', 'test')
        await eventually(() => second.require('globex').cas.length === 2)
        assert.ok(changed.includes('globex'))
      } finally {
        await second.close()
      }
    })

    it('gives a lease to one holder of those sharing the store, until it lapses unrenewed', async () => {
      const other = factory.open()
      try {
        assert.equal(await registry.store.lease('job', 'a', 400), true)
        assert.equal(await other.lease('job', 'b', 400), false, 'held by a')
        assert.equal(await registry.store.lease('job', 'a', 400), true, 'renewed by its holder')
        assert.equal(await other.lease('another-job', 'b', 400), true, 'leases are by name')
        await new Promise(resolve => setTimeout(resolve, 600))
        assert.equal(await other.lease('job', 'b', 400), true, 'lapsed: b takes it')
        assert.equal(await registry.store.lease('job', 'a', 400), false)
      } finally {
        await other.close()
      }
    })

    it('lets one of many concurrent compare-and-sets on a record win, from two stores on the same data', async () => {
      const other = factory.open()
      try {
        const record = { id: 'probe', commonName: 'd:sensor:probe', expiresAt: new Date(Date.now() + 60_000).toISOString(), createdAt: new Date().toISOString(), createdBy: 'test' }
        await registry.store.put('acme', 'enroll-tokens', record, { quiet: true })
        const expected = await other.get('acme', 'enroll-tokens', 'probe')
        const stores = [registry.store, other]
        const wins = await Promise.all(Array.from({ length: 10 }, async (_, i) => await stores[i % 2].swap('acme', 'enroll-tokens', expected!, { ...expected!, usedAt: `winner ${i}` })))
        assert.equal(wins.filter(Boolean).length, 1)
        assert.equal((await registry.store.get('acme', 'enroll-tokens', 'probe'))?.usedAt, `winner ${wins.indexOf(true)}`)
        assert.equal(await other.swap('acme', 'enroll-tokens', expected!, { ...expected!, usedAt: 'late' }), false, 'the record changed since it was read')
      } finally {
        await other.close()
      }
    })

    it('lists issued certificates in the order they were issued, several in one second included', async () => {
      const ids: string[] = []
      for (let i = 0; i < 6; i++) ids.push((await issueClientCert(registry, 'acme', { commonName: `d:sensor:order-${i}` }, 'test')).record.id)
      const listed = (await listIssued(registry, 'acme')).map(r => r.id).filter(id => ids.includes(id))
      assert.deepEqual(listed, ids)
    })

    it('records issued certificates without announcing them, and revocations with', async () => {
      const issued = await issueClientCert(registry, 'acme', { commonName: 'd:sensor:kept' }, 'test')
      assert.equal((await listIssued(registry, 'acme')).some(r => r.id === issued.record.id), true)
      await revokeCert(registry, 'acme', issued.record.fingerprint, 'test')
      assert.deepEqual(registry.require('acme').revocations.map(r => r.certId), [issued.record.id])
    })

    it('a reload that read the store before a change does not put the old state back over it', async () => {
      const held = heldOnce(factory.open())
      const second = await OrgRegistry.open(held.store, { serverNameFor: orgId => serverNameOf(orgId, 'example.test'), log: logs.logger })
      try {
        const stale = held.holdNextRead(() => second.reload('globex'))
        await held.read
        const racing = mintCa('Racing CA')
        const added = addCa(second, 'globex', racing.certPem, '', 'test')
        // Unserialized, the change's own reload finishes here, before the held one.
        await Promise.race([added, new Promise(resolve => setTimeout(resolve, 500))])
        held.release()
        await Promise.all([stale, added])
        assert.ok(second.require('globex').cas.some(c => c.certPem === inspectCertificate(racing.certPem).x509.toString()), 'the added CA is in memory')
      } finally {
        await second.close()
      }
    })

    it('keeps the records across a reopen', async () => {
      const reopened = await OrgRegistry.open(factory.open(), { serverNameFor: orgId => serverNameOf(orgId, 'example.test'), log: logs.logger })
      try {
        assert.deepEqual(reopened.list().map(s => s.org.id).sort(), ['acme', 'globex'])
        assert.deepEqual(reopened.require('acme'), registry.require('acme'))
        assert.equal(reopened.require('acme').revocations.length, 1, 'a revocation survives a restart')
      } finally {
        await reopened.close()
      }
    })

    it('carries claims and enrollment token hashes through a backup and a restore', async () => {
      await createClaim(registry, 'acme', { name: 'backed-up', types: ['sensor'], maxUses: 5 }, 'test')
      const { token } = await createEnrollToken(registry, 'acme', { commonName: 'd:sensor:backed-up' }, 'test')
      const backup = parseBackup(JSON.stringify(await backupRegistry(registry.store)))
      const temp = await makeTempDir('registry-restore')
      const target = new FileRegistryStore(temp.dir, 50)
      try {
        await restoreRegistry(target, backup)
        assert.deepEqual(await target.list('acme', 'claims'), await registry.store.list('acme', 'claims'))
        assert.deepEqual(await target.list('acme', 'enroll-tokens'), await registry.store.list('acme', 'enroll-tokens'))
        assert.ok(!JSON.stringify(backup).includes(token), 'a token is in the backup')
      } finally {
        await temp.remove()
      }
    })

    it('never logs a private key', () => {
      assert.doesNotMatch(logs.text(), /PRIVATE KEY/)
    })
  })
}

describe('registry files on disk', () => {
  it('are readable by the owner only and leave no temporary files', async () => {
    const temp = await makeTempDir('registry-modes')
    const registry = await OrgRegistry.open(new FileRegistryStore(temp.dir), { serverNameFor: orgId => serverNameOf(orgId, 'example.test'), log: createLogSink().logger })
    try {
      await registry.createOrg('acme')
      const orgDir = path.join(temp.dir, 'orgs', 'acme')
      for (const file of ['org.json', ...(await readdir(path.join(orgDir, 'cas'))).map(f => `cas/${f}`), ...(await readdir(path.join(orgDir, 'server-certs'))).map(f => `server-certs/${f}`)]) {
        assert.equal((await stat(path.join(orgDir, file))).mode & 0o077, 0, `${file} is private`)
        assert.doesNotMatch(file, /\.tmp$/)
      }
      assert.deepEqual((await readdir(path.join(temp.dir, 'orgs'))).filter(n => n.startsWith('.staging')), [])
    } finally {
      await registry.close()
      await temp.remove()
    }
  })
})
