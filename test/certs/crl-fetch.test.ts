import assert from 'node:assert/strict'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { MqttClient } from 'mqtt'
import { addCa, managedCaOf, setCrlPolicy, setCrlSource, type CaRecord } from '../../certs/index.js'
import { startCrlServer, type CrlServer } from '../support/crl-server.js'
import { mqgateCli, showResult, type CliResult } from '../support/mqgate-cli.js'
import { closed, endAll, tryConnect, type ConnectOutcome } from '../support/mqtt-client.js'
import { chainCrl, chainLeaf, chainRoot, type ChainCa, type ChainLeaf } from '../support/openssl-chain.js'
import { openssl } from '../support/openssl.js'
import { freePort } from '../support/redis-server.js'
import { ADMIN_TOKEN, httpsRequest, startTestStack, within, type TestStack } from '../support/stack.js'
import { makeTempDir } from '../support/temp-dir.js'
import { sample } from '../support/prometheus.js'

/**
 * `ca crl-source`: the gateway fetches an uploaded CA's CRL from a URL (or
 * the distribution point its certificate names) on a schedule, as IBM Watson
 * IoT does, and applies it as an uploaded CRL: a device newly listed loses its
 * live session. A list not signed by the CA is refused and the old one kept;
 * while no list can be had (never fetched, or expired), the CA's CRL policy
 * decides: `closed` refuses its devices, `open` admits them.
 */

describe('CRLs fetched from a distribution point', function () {
  this.timeout(90_000)
  let stack: TestStack
  let server: CrlServer
  let temp: { dir: string, remove: () => Promise<void> }
  let fetchedCa: ChainCa, impostorCa: ChainCa, closedCa: ChainCa, openCa: ChainCa
  let listed: ChainLeaf, kept: ChainLeaf, closedDevice: ChainLeaf, openDevice: ChainLeaf
  const ids: Record<string, string> = {}
  const live: MqttClient[] = []

  before(async () => {
    temp = await makeTempDir('crl-fetch')
    fetchedCa = chainRoot(temp.dir, 'fetched-ca')
    // Same name as fetched-ca, another key: its CRLs name the right issuer but carry the wrong signature.
    impostorCa = chainRoot(path.join(temp.dir, 'impostor'), 'fetched-ca')
    closedCa = chainRoot(temp.dir, 'closed-ca')
    openCa = chainRoot(temp.dir, 'open-ca')
    listed = chainLeaf(fetchedCa, temp.dir, 'listed', 'd:sensor:listed')
    kept = chainLeaf(fetchedCa, temp.dir, 'kept', 'd:sensor:kept')
    closedDevice = chainLeaf(closedCa, temp.dir, 'closed-dev', 'd:sensor:closed-dev')
    openDevice = chainLeaf(openCa, temp.dir, 'open-dev', 'd:sensor:open-dev')
    server = await startCrlServer()
    stack = await startTestStack()
    const registry = stack.running.registry
    for (const [name, ca] of [['fetched', fetchedCa], ['closed', closedCa], ['open', openCa]] as const) {
      ids[name] = (await addCa(registry, 'demo', ca.certPem, name, 'test')).id
    }
  })
  after(async () => {
    await endAll(...live)
    await stack?.close()
    await server?.close()
    await temp?.remove()
  })

  const cli = async (...args: string[]): Promise<CliResult> =>
    await mqgateCli(args, { url: `https://127.0.0.1:${stack.adminPort}`, caFile: path.join(stack.dataDir, 'admin', 'ca.pem'), token: ADMIN_TOKEN })
  const caOf = (id: string): CaRecord => stack.running.registry.require('demo').cas.find(c => c.id === id) as CaRecord

  async function mqtt (device: ChainLeaf, deviceId: string): Promise<ConnectOutcome> {
    const result = await tryConnect({ port: stack.mqttPort, servername: 'demo.messaging.localhost', caPem: managedCaOf(stack.running.registry.require('demo')).certPem, cert: { certPem: device.certPem, keyPem: device.keyPem }, clientId: `d:demo:sensor:${deviceId}` })
    if (result.outcome === 'connected') live.push(result.client)
    return result
  }

  async function metrics (): Promise<string> {
    return (await httpsRequest(stack.adminPort, { path: '/metrics', caPem: readFileSync(path.join(stack.dataDir, 'admin', 'ca.pem'), 'utf8'), headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text
  }

  function assertRefused (result: CliResult, code: string): void {
    assert.equal(result.status, 1, showResult(result))
    assert.match(result.stderr, new RegExp(`^mqgate: ${code}: `), showResult(result))
  }

  it('sets a source with ca crl-source (a URL, or the CA certificate\'s distribution point), shows it, and refuses what cannot be fetched from', async () => {
    const dir = path.join(temp.dir, 'cdp-ca')
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(temp.dir, 'cdp-ca.key'), '-out', `${dir}.pem`, '-days', '30',
      '-subj', '/CN=cdp-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      '-addext', `crlDistributionPoints=URI:ldap://ldap.example.com/cn=cdp-ca,URI:${server.url('/cdp.crl')}`])
    const cdpId = (await addCa(stack.running.registry, 'demo', readFileSync(`${dir}.pem`, 'utf8'), 'with a CDP', 'test')).id
    const fromCert = await cli('ca', 'crl-source', 'demo', cdpId, '--from-certificate', '--every', '10m', '--json')
    assert.equal(fromCert.status, 0, showResult(fromCert))
    assert.deepEqual({ ...JSON.parse(fromCert.stdout).crl_source, set_at: undefined }, { url: server.url('/cdp.crl'), from_certificate: true, every_seconds: 600, set_at: undefined })
    const list = await cli('ca', 'list', 'demo')
    assert.match(list.stdout, new RegExp(`${cdpId}.*${server.url('/cdp.crl').replaceAll('.', '\\.')} every 600s`))
    // A device's distribution point (the CA's own certificate may name its parent's CRL, or none).
    const deviceKey = path.join(temp.dir, 'cdp-dev.key')
    const deviceCsr = path.join(temp.dir, 'cdp-dev.csr')
    const deviceExt = path.join(temp.dir, 'cdp-dev.cnf')
    const deviceCert = path.join(temp.dir, 'cdp-dev.pem')
    writeFileSync(deviceExt, `basicConstraints=critical,CA:FALSE\nextendedKeyUsage=clientAuth\ncrlDistributionPoints=URI:${server.url('/devices.crl')}\n`)
    openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', deviceKey, '-out', deviceCsr, '-subj', '/CN=d:sensor:cdp-dev'])
    openssl(['x509', '-req', '-in', deviceCsr, '-CA', `${dir}.pem`, '-CAkey', path.join(temp.dir, 'cdp-ca.key'), '-CAcreateserial', '-out', deviceCert, '-days', '20', '-extfile', deviceExt])
    const fromDevice = await cli('ca', 'crl-source', 'demo', cdpId, '--from-certificate', deviceCert, '--json')
    assert.equal(fromDevice.status, 0, showResult(fromDevice))
    assert.equal(JSON.parse(fromDevice.stdout).crl_source.url, server.url('/devices.crl'))
    assert.equal(JSON.parse(fromDevice.stdout).crl_source.every_seconds, 3600, 'every hour by default')
    // A source behind Basic auth: the password in the URL is sent to it, never shown back (as in the log lines).
    const secret = await cli('ca', 'crl-source', 'demo', cdpId, '--url', server.url('/cdp.crl').replace('//', '//crl:s3cret@'), '--json')
    assert.equal(secret.status, 0, showResult(secret))
    assert.equal(JSON.parse(secret.stdout).crl_source.url, server.url('/cdp.crl'))
    assert.doesNotMatch((await cli('ca', 'list', 'demo', '--json')).stdout, /s3cret/)
    assert.doesNotMatch((await cli('ca', 'list', 'demo')).stdout, /s3cret/)
    // A certificate the CA did not sign says nothing about where its CRL is.
    assertRefused(await cli('ca', 'crl-source', 'demo', cdpId, '--from-certificate', listed.certFile), 'CERTS_ERR_CRL_SOURCE_INVALID')
    const off = await cli('ca', 'crl-source', 'demo', cdpId, '--off', '--json')
    assert.equal(JSON.parse(off.stdout).crl_source, null, showResult(off))

    assertRefused(await cli('ca', 'crl-source', 'demo', ids.fetched, '--from-certificate'), 'CERTS_ERR_CRL_SOURCE_INVALID')
    assertRefused(await cli('ca', 'crl-source', 'demo', ids.fetched, '--from-certificate', listed.certFile), 'CERTS_ERR_CRL_SOURCE_INVALID')
    assertRefused(await cli('ca', 'crl-source', 'demo', ids.fetched, '--url', 'file:///etc/passwd'), 'CERTS_ERR_CRL_SOURCE_INVALID')
    assertRefused(await cli('ca', 'crl-source', 'demo', managedCaOf(stack.running.registry.require('demo')).id, '--url', server.url('/x.crl')), 'CERTS_ERR_CA_MANAGED')
    assert.equal(caOf(ids.fetched).crlSource, undefined)
  })

  it('fetches the CRL on schedule: a device the new list names loses its live session, the others keep theirs', async () => {
    server.serve('/fetched.crl', { file: chainCrl(fetchedCa, []) })
    const set = await cli('ca', 'crl-source', 'demo', ids.fetched, '--url', server.url('/fetched.crl'), '--every', '1s')
    assert.equal(set.status, 0, showResult(set))
    await within(10_000, async () => caOf(ids.fetched).crl)
    const listedLive = await mqtt(listed, 'listed')
    const keptLive = await mqtt(kept, 'kept')
    assert.equal(listedLive.outcome, 'connected')
    assert.equal(keptLive.outcome, 'connected')

    server.serve('/fetched.crl', { file: chainCrl(fetchedCa, [listed.serial]) })
    // Fetched every second: closed within that, plus a margin for a busy machine.
    assert.ok(await closed((listedLive as { client: MqttClient }).client, 8000), 'the newly listed device\'s session is closed')
    assert.deepEqual(await mqtt(listed, 'listed'), { outcome: 'connack', returnCode: 5 })
    assert.ok(await stack.logs.waitFor(l => l.code === 'BROKER_ERR_CERT_REVOKED' && l.clientId === 'd:demo:sensor:listed'))
    assert.ok((keptLive as { client: MqttClient }).client.connected, 'a device the list does not name keeps its session')
    assert.ok(stack.logs.find(l => l.event === 'audit' && l.action === 'ca.crl' && l.actor === 'crl-fetch' && l.caId === ids.fetched), 'applied through the upload path, audited')
    const text = await metrics()
    assert.ok((sample(text, 'mqgate_crl_fetch_total', { org: 'demo', ca: ids.fetched, outcome: 'updated' }) ?? 0) >= 2, text)
    assert.ok((sample(text, 'mqgate_crl_next_update_seconds', { org: 'demo', ca: ids.fetched }) ?? 0) > 0)

    // The same list again: counted as unchanged, nothing written (each write is a registry change on every process).
    const applied = (): number => stack.logs.lines.filter(l => l.event === 'audit' && l.action === 'ca.crl' && l.caId === ids.fetched).length
    const appliedBefore = applied()
    const unchangedBefore = sample(await metrics(), 'mqgate_crl_fetch_total', { org: 'demo', ca: ids.fetched, outcome: 'unchanged' }) ?? 0
    await within(10_000, async () => ((sample(await metrics(), 'mqgate_crl_fetch_total', { org: 'demo', ca: ids.fetched, outcome: 'unchanged' }) ?? 0) >= unchangedBefore + 2) || undefined)
    assert.equal(applied(), appliedBefore, 'an unchanged list is not applied again')
  })

  it('refuses a CRL signed by another key (or naming another issuer, or older than the one loaded), counts and logs it, and keeps the list it had', async () => {
    const before = caOf(ids.fetched).crl?.fingerprint
    server.serve('/fetched.crl', { file: chainCrl(impostorCa, []) })
    // Refused at every try, not only the first.
    await within(15_000, async () => stack.logs.lines.filter(l => l.event === 'crl.fetch-failed' && l.caId === ids.fetched && l.code === 'CERTS_ERR_CRL_SIGNATURE').length >= 2 ? true : undefined)
    assert.equal(caOf(ids.fetched).crl?.fingerprint, before)
    assert.deepEqual(await mqtt(listed, 'listed'), { outcome: 'connack', returnCode: 5 }, 'the device listed before stays refused')
    assert.equal((await mqtt(kept, 'kept')).outcome, 'connected')
    assert.ok((sample(await metrics(), 'mqgate_crl_fetch_total', { org: 'demo', ca: ids.fetched, outcome: 'CERTS_ERR_CRL_SIGNATURE' }) ?? 0) >= 1)

    // The CA's own key, under another name: signed right, issued by someone else (RFC 5280 6.3.3 b).
    const renamedDir = path.join(temp.dir, 'renamed')
    mkdirSync(renamedDir)
    const renamedCert = path.join(renamedDir, 'ca.pem')
    openssl(['req', '-x509', '-new', '-key', fetchedCa.keyFile, '-out', renamedCert, '-days', '30', '-subj', '/CN=renamed-ca'])
    server.serve('/fetched.crl', { file: chainCrl({ ...fetchedCa, dir: renamedDir, certFile: renamedCert }, []) })
    assert.ok(await stack.logs.waitFor(l => l.event === 'crl.fetch-failed' && l.caId === ids.fetched && l.code === 'CERTS_ERR_CRL_ISSUER', 10_000))
    assert.equal(caOf(ids.fetched).crl?.fingerprint, before)
    assert.deepEqual(await mqtt(listed, 'listed'), { outcome: 'connack', returnCode: 5 })

    // The CA's own, valid list, but older than the one loaded (a replay): it would forget the revocation since.
    server.serve('/fetched.crl', { file: chainCrl(fetchedCa, [], { lastUpdate: new Date(Date.now() - 3600_000) }) })
    assert.ok(await stack.logs.waitFor(l => l.event === 'crl.fetch-older' && l.caId === ids.fetched, 10_000))
    assert.equal(caOf(ids.fetched).crl?.fingerprint, before)
    assert.deepEqual(await mqtt(listed, 'listed'), { outcome: 'connack', returnCode: 5 })
  })

  it('while no CRL could ever be fetched: closed refuses the CA\'s devices (BROKER_ERR_CRL_UNAVAILABLE), open admits them', async () => {
    const registry = stack.running.registry
    await setCrlPolicy(registry, 'demo', ids.closed, 'closed', 'test')
    server.serve('/closed.crl', { status: 500 })
    await setCrlSource(registry, 'demo', ids.closed, { url: server.url('/closed.crl'), everySeconds: 1 }, 'test')
    // Nothing listens there.
    await setCrlSource(registry, 'demo', ids.open, { url: `http://127.0.0.1:${await freePort()}/open.crl`, everySeconds: 1 }, 'test')
    assert.ok(await stack.logs.waitFor(l => l.event === 'crl.fetch-failed' && l.caId === ids.closed && l.code === 'CERTS_ERR_CRL_FETCH_STATUS', 10_000))
    assert.ok(await stack.logs.waitFor(l => l.event === 'crl.fetch-failed' && l.caId === ids.open && l.code === 'CERTS_ERR_CRL_FETCH_FAILED', 10_000))
    assert.deepEqual(await mqtt(closedDevice, 'closed-dev'), { outcome: 'connack', returnCode: 5 })
    assert.ok(await stack.logs.waitFor(l => l.code === 'BROKER_ERR_CRL_UNAVAILABLE' && l.clientId === 'd:demo:sensor:closed-dev'))
    const tempsAs = async (device: ChainLeaf): Promise<number> => (await httpsRequest(stack.apiPort, {
      path: '/temps', caPem: managedCaOf(registry.require('demo')).certPem, cert: { certPem: device.certPem, keyPem: device.keyPem }, servername: 'demo.messaging.localhost'
    })).status
    assert.equal(await tempsAs(closedDevice), 403, 'the temps API decides alike')
    assert.equal(await tempsAs(openDevice), 200)
    assert.equal((await mqtt(openDevice, 'open-dev')).outcome, 'connected')
    const text = await metrics()
    assert.ok((sample(text, 'mqgate_crl_fetch_total', { org: 'demo', ca: ids.closed, outcome: 'CERTS_ERR_CRL_FETCH_STATUS' }) ?? 0) >= 1)
    assert.ok((sample(text, 'mqgate_crl_fetch_total', { org: 'demo', ca: ids.open, outcome: 'CERTS_ERR_CRL_FETCH_FAILED' }) ?? 0) >= 1)
  })

  it('once the last fetched CRL expires and no fresh one comes: closed refuses the CA\'s devices, live ones too (BROKER_ERR_CRL_EXPIRED), open keeps them', async () => {
    const registry = stack.running.registry
    const soon = (): { lastUpdate: Date, nextUpdate: Date } => ({ lastUpdate: new Date(Date.now() - 60_000), nextUpdate: new Date(Date.now() + 6000) })
    server.serve('/closed.crl', { file: chainCrl(closedCa, [], soon()) })
    server.serve('/open.crl', { file: chainCrl(openCa, [], soon()) })
    await setCrlSource(registry, 'demo', ids.open, { url: server.url('/open.crl'), everySeconds: 1 }, 'test')
    await within(5000, async () => caOf(ids.closed).crl !== undefined && caOf(ids.open).crl !== undefined ? true : undefined)
    const closedLive = await mqtt(closedDevice, 'closed-dev')
    assert.equal(closedLive.outcome, 'connected')
    server.serve('/closed.crl', { status: 503 })
    server.serve('/open.crl', { status: 503 })

    await stack.logs.waitFor(l => l.event === 'crl.stale' && l.caId === ids.closed, 15_000)
    assert.ok(await closed((closedLive as { client: MqttClient }).client, 5000), 'the closed CA\'s live session is closed')
    assert.deepEqual(await mqtt(closedDevice, 'closed-dev'), { outcome: 'connack', returnCode: 5 })
    assert.ok(await stack.logs.waitFor(l => l.code === 'BROKER_ERR_CRL_EXPIRED' && l.clientId === 'd:demo:sensor:closed-dev'))
    await stack.logs.waitFor(l => l.event === 'crl.stale' && l.caId === ids.open, 15_000)
    assert.equal((await mqtt(openDevice, 'open-dev')).outcome, 'connected')
    assert.ok((sample(await metrics(), 'mqgate_crl_next_update_seconds', { org: 'demo', ca: ids.closed }) as number) < 0)
  })
})
