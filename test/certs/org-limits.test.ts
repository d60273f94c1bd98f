import assert from 'node:assert/strict'
import {
  backupRegistry, restoreRegistry, setOrgLimits, orgLimitsOf, isCertsError, FileRegistryStore, OrgRegistry, EncryptingRegistryStore
} from '../../certs/index.js'
import { testKeyRing } from '../support/kek.js'
import { createLogSink } from '../support/log-sink.js'
import { encrypted, eventually, fileStores, redisStores } from '../support/registry-stores.js'
import { makeTempDir } from '../support/temp-dir.js'
import { serverNameOf } from '../../access/index.js'

async function refusal (attempt: Promise<unknown>): Promise<string> {
  try {
    await attempt
  } catch (err) {
    if (isCertsError(err)) return err.code
    throw err
  }
  return 'accepted'
}

for (const factory of [encrypted(fileStores()), encrypted(redisStores())]) {
  describe(`organisation limits in the registry on ${factory.name}`, function () {
    this.timeout(30_000)
    let registry: OrgRegistry
    const logs = createLogSink()

    before(async () => {
      await factory.setUp()
      registry = await OrgRegistry.open(factory.open(), { serverNameFor: orgId => serverNameOf(orgId, 'example.test'), log: logs.logger, storeCheckMs: 60_000 })
      await registry.createOrg('acme')
      await registry.createOrg('globex')
    })
    after(async () => {
      await registry.close()
      await factory.tearDown()
    })

    it('has none by default', () => {
      assert.deepEqual(orgLimitsOf(registry.require('acme')), {})
    })

    it('sets limits, audits the change, and another process on the same store sees them without a restart', async () => {
      const second = await OrgRegistry.open(factory.open(), { serverNameFor: orgId => serverNameOf(orgId, 'example.test'), log: logs.logger, storeCheckMs: 60_000 })
      try {
        assert.deepEqual(await setOrgLimits(registry, 'acme', { connections: 3, publishRate: 200 }, 'alice@test'), { connections: 3, publishRate: 200 })
        assert.deepEqual(orgLimitsOf(registry.require('acme')), { connections: 3, publishRate: 200 }, 'applied at once in this process')
        await eventually(() => orgLimitsOf(second.get('acme')).connections === 3)
        assert.deepEqual(orgLimitsOf(second.require('acme')), { connections: 3, publishRate: 200 })
        assert.deepEqual(orgLimitsOf(registry.require('globex')), {}, 'another organisation is untouched')
        const audit = logs.lines.find(l => l.event === 'audit' && l.action === 'org.limits')
        assert.equal(audit?.actor, 'alice@test')
        assert.equal(audit?.orgId, 'acme')
        assert.equal(audit?.connections, 3)
      } finally {
        await second.close()
      }
    })

    it('refuses a value that is not a whole number from 1 up with CERTS_ERR_LIMIT_INVALID, and changes nothing', async () => {
      const before = registry.require('acme').org
      for (const bad of [0, -1, 1.5, 'ten', '5', 1e10, Number.NaN, true, {}, []]) {
        assert.equal(await refusal(setOrgLimits(registry, 'acme', { connections: bad }, 'test')), 'CERTS_ERR_LIMIT_INVALID', `connections ${String(bad)}`)
        assert.equal(await refusal(setOrgLimits(registry, 'acme', { publishRate: bad }, 'test')), 'CERTS_ERR_LIMIT_INVALID', `publish rate ${String(bad)}`)
      }
      // One good value beside a bad one: the change is checked whole.
      assert.equal(await refusal(setOrgLimits(registry, 'acme', { connections: 10, publishRate: 0 }, 'test')), 'CERTS_ERR_LIMIT_INVALID')
      assert.equal(await refusal(setOrgLimits(registry, 'acme', {}, 'test')), 'CERTS_ERR_LIMIT_INVALID', 'no limit named')
      assert.equal(await refusal(setOrgLimits(registry, 'nope', { connections: 1 }, 'test')), 'CERTS_ERR_ORG_NOT_FOUND')
      assert.deepEqual(registry.require('acme').org, before, 'the record in memory is unchanged')
      assert.deepEqual((await registry.store.readOrg('acme'))?.org, before, 'the record in the store is unchanged')
    })

    it('lifts one limit and keeps the other; lifting both leaves no limits on the record', async () => {
      assert.deepEqual(await setOrgLimits(registry, 'acme', { connections: null }, 'test'), { publishRate: 200 })
      assert.deepEqual(orgLimitsOf(registry.require('acme')), { publishRate: 200 })
      await setOrgLimits(registry, 'acme', { publishRate: null }, 'test')
      assert.equal(registry.require('acme').org.limits, undefined)
      await setOrgLimits(registry, 'acme', { connections: 2, publishRate: 50 }, 'test')
    })

    it('keeps the limits across a reopen', async () => {
      const reopened = await OrgRegistry.open(factory.open(), { serverNameFor: orgId => serverNameOf(orgId, 'example.test'), log: logs.logger, storeCheckMs: 60_000 })
      try {
        assert.deepEqual(orgLimitsOf(reopened.require('acme')), { connections: 2, publishRate: 50 })
        assert.deepEqual(reopened.require('acme'), registry.require('acme'))
      } finally {
        await reopened.close()
      }
    })

    it('carries the limits through a backup and a restore into an empty store', async () => {
      const backup = JSON.parse(JSON.stringify(await backupRegistry(registry.store)))
      const temp = await makeTempDir('org-limits-restore')
      const target = new FileRegistryStore(temp.dir, 50)
      try {
        await restoreRegistry(target, backup)
        const restored = await OrgRegistry.open(new EncryptingRegistryStore(target, testKeyRing()), { serverNameFor: orgId => serverNameOf(orgId, 'example.test'), log: logs.logger, storeCheckMs: 60_000 })
        try {
          assert.deepEqual(orgLimitsOf(restored.require('acme')), { connections: 2, publishRate: 50 })
          assert.deepEqual(orgLimitsOf(restored.require('globex')), {})
        } finally {
          await restored.close()
        }
      } finally {
        await temp.remove()
      }
    })
  })
}
