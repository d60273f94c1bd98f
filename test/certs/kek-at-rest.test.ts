import assert from 'node:assert/strict'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import {
  kekFromBase64, keyRing, managedCaOf, activeServerCertOf, openRegistry, EncryptingRegistryStore, FileRegistryStore, OrgRegistry, isCertsError, BLOB_PREFIX
} from '../../certs/index.js'
import { TEST_KEK, testKeyRing } from '../support/kek.js'
import { createLogSink } from '../support/log-sink.js'
import { makeTempDir } from '../support/temp-dir.js'
import { serverNameOf } from '../../access/index.js'

const OTHER_KEK = 'b3RoZXIta2V5LWVuY3J5cHRpb24ta2V5LTMyLWJ5dGU='

async function open (dataDir: string, keys = testKeyRing()): Promise<{ registry: OrgRegistry, logs: ReturnType<typeof createLogSink> }> {
  const logs = createLogSink()
  return { registry: await openRegistry({ dataDir, serverNameFor: orgId => serverNameOf(orgId, 'localhost'), log: logs.logger, keys }), logs }
}

async function recordFile (dataDir: string, orgId: string, collection: string): Promise<string> {
  const dir = path.join(dataDir, 'orgs', orgId, collection)
  return path.join(dir, (await readdir(dir)).filter(n => n.endsWith('.json'))[0])
}

async function filesUnder (dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true })
  return entries.filter(e => e.isFile()).map(e => path.join(e.parentPath ?? (e as any).path, e.name))
}

describe('private keys encrypted at rest (EncryptingRegistryStore)', function () {
  this.timeout(30_000)
  let temp: { dir: string, remove: () => Promise<void> }
  beforeEach(async () => { temp = await makeTempDir('kek') })
  afterEach(async () => await temp.remove())

  it('stores every key field as an mqgate-kek:v1 blob and hands the registry the plaintext key', async () => {
    const { registry } = await open(temp.dir)
    const state = await registry.createOrg('acme')
    await registry.close()
    for (const file of await filesUnder(path.join(temp.dir, 'orgs'))) {
      assert.doesNotMatch(await readFile(file, 'utf8'), /PRIVATE KEY/, file)
    }
    const stored = JSON.parse(await readFile(await recordFile(temp.dir, 'acme', 'cas'), 'utf8'))
    assert.ok(stored.keyPem.startsWith(`${BLOB_PREFIX}${testKeyRing().current.kid}:`))
    const again = await open(temp.dir)
    // Compared as booleans: a failing assert must not print a private key.
    assert.ok(managedCaOf(again.registry.require('acme')).keyPem === managedCaOf(state).keyPem, 'the CA key reads back as it was made')
    assert.ok(/^-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(managedCaOf(state).keyPem as string), 'the registry holds the PEM key')
    await again.registry.close()
  })

  it('refuses a blob copied from one record into another with CERTS_ERR_KEY_BLOB_INVALID', async () => {
    const { registry } = await open(temp.dir)
    await registry.createOrg('acme')
    await registry.createOrg('globex')
    await registry.close()
    // The same KEK sealed both: only the AAD (org, collection, record id, field) tells them apart.
    const from = JSON.parse(await readFile(await recordFile(temp.dir, 'acme', 'cas'), 'utf8'))
    const toFile = await recordFile(temp.dir, 'globex', 'cas')
    const to = JSON.parse(await readFile(toFile, 'utf8'))
    await writeFile(toFile, JSON.stringify({ ...to, keyPem: from.keyPem }))
    const store = new EncryptingRegistryStore(new FileRegistryStore(temp.dir), testKeyRing())
    await assert.rejects(store.readOrg('globex'), (err: unknown) => isCertsError(err, 'CERTS_ERR_KEY_BLOB_INVALID'))
    await assert.rejects(open(temp.dir), (err: unknown) => isCertsError(err, 'CERTS_ERR_KEY_BLOB_INVALID'), 'a start stops on it')
    // Within one organisation too: the server key's blob in the CA record.
    await writeFile(toFile, JSON.stringify(to))
    const serverFile = await recordFile(temp.dir, 'globex', 'server-certs')
    await writeFile(toFile, JSON.stringify({ ...to, keyPem: JSON.parse(await readFile(serverFile, 'utf8')).keyPem }))
    await assert.rejects(store.readOrg('globex'), (err: unknown) => isCertsError(err, 'CERTS_ERR_KEY_BLOB_INVALID'))
  })

  it('refuses to open a registry sealed under another KEK with CERTS_ERR_KEK_MISMATCH', async () => {
    const { registry } = await open(temp.dir)
    await registry.createOrg('acme')
    await registry.close()
    await assert.rejects(open(temp.dir, keyRing(kekFromBase64(OTHER_KEK))), (err: unknown) => isCertsError(err, 'CERTS_ERR_KEK_MISMATCH'))
    // The old key as a previous one opens it (a rotation rolling out).
    const rolling = await open(temp.dir, keyRing(kekFromBase64(OTHER_KEK), [kekFromBase64(TEST_KEK)]))
    assert.ok(rolling.registry.get('acme'))
    await rolling.registry.close()
  })

  it('seals the plaintext keys of an earlier version on the first start with a KEK, logging each record once', async () => {
    // As main wrote it before: an OrgRegistry straight on the file store, keys in the clear.
    const plain = await OrgRegistry.open(new FileRegistryStore(temp.dir), { serverNameFor: orgId => serverNameOf(orgId, 'localhost'), log: createLogSink().logger })
    const before = await plain.createOrg('legacy')
    await plain.close()
    assert.match(await readFile(await recordFile(temp.dir, 'legacy', 'cas'), 'utf8'), /PRIVATE KEY/)

    const first = await open(temp.dir)
    const migrated = first.logs.lines.filter(l => l.event === 'kek.migrated')
    assert.deepEqual(migrated.map(l => l.collection).sort(), ['cas', 'server-certs'])
    assert.ok(migrated.every(l => l.orgId === 'legacy' && !JSON.stringify(l).includes('PRIVATE KEY')))
    for (const file of await filesUnder(path.join(temp.dir, 'orgs'))) assert.doesNotMatch(await readFile(file, 'utf8'), /PRIVATE KEY/, file)
    assert.ok(managedCaOf(first.registry.require('legacy')).keyPem === managedCaOf(before).keyPem, 'the CA key survives the migration')
    assert.ok(activeServerCertOf(first.registry.require('legacy')).keyPem === activeServerCertOf(before).keyPem, 'the server key survives the migration')
    await first.registry.close()

    const second = await open(temp.dir)
    assert.equal(second.logs.lines.filter(l => l.event === 'kek.migrated').length, 0, 'once per record, not once per start')
    await second.registry.close()
  })
})
