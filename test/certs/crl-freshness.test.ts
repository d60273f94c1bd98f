import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import type { MqttClient } from 'mqtt'
import { addCa, loadCrl, managedCaOf } from '../../certs/index.js'
import { mqgateCli, showResult, type CliResult } from '../support/mqgate-cli.js'
import { closed, endAll, tryConnect } from '../support/mqtt-client.js'
import { chainCrl, chainLeaf, chainRoot, type ChainCa, type ChainLeaf } from '../support/openssl-chain.js'
import { ADMIN_TOKEN, httpsRequest, startTestStack, type TestStack } from '../support/stack.js'
import { makeTempDir } from '../support/temp-dir.js'
import { sample } from '../support/prometheus.js'

/**
 * CRLs age: each names the time by which its CA will have issued the next
 * (nextUpdate, RFC 5280 5.1.2.5). A CRL already past it is refused at upload;
 * one that passes it while loaded is warned about once, shown as a gauge, and
 * treated as the CA's CRL policy says (`ca crl-policy`): `open` keeps the last
 * list, `closed` refuses the CA's devices until a fresh CRL arrives.
 */

const MINUTE = 60_000

describe('CRL freshness', function () {
  this.timeout(60_000)
  let stack: TestStack
  let temp: { dir: string, remove: () => Promise<void> }
  let closedCa: ChainCa, openCa: ChainCa
  let closedDevice: ChainLeaf, openDevice: ChainLeaf
  const ids: Record<string, string> = {}
  const live: MqttClient[] = []

  before(async () => {
    temp = await makeTempDir('crl-freshness')
    closedCa = chainRoot(temp.dir, 'closed-ca')
    openCa = chainRoot(temp.dir, 'open-ca')
    closedDevice = chainLeaf(closedCa, temp.dir, 'closed-dev', 'd:sensor:fresh-closed')
    openDevice = chainLeaf(openCa, temp.dir, 'open-dev', 'd:sensor:fresh-open')
    stack = await startTestStack()
    ids.closed = (await addCa(stack.running.registry, 'demo', closedCa.certPem, 'closed', 'test')).id
    ids.open = (await addCa(stack.running.registry, 'demo', openCa.certPem, 'open', 'test')).id
  })
  after(async () => {
    await endAll(...live)
    await stack?.close()
    await temp?.remove()
  })

  const cli = async (...args: string[]): Promise<CliResult> =>
    await mqgateCli(args, { url: `https://127.0.0.1:${stack.adminPort}`, caFile: path.join(stack.dataDir, 'admin', 'ca.pem'), token: ADMIN_TOKEN })

  function assertRefused (result: CliResult, code: string): void {
    assert.equal(result.status, 1, showResult(result))
    assert.match(result.stderr, new RegExp(`^mqgate: ${code}: `), showResult(result))
  }

  async function mqtt (device: ChainLeaf, deviceId: string): Promise<{ outcome: string, returnCode?: number, client?: MqttClient }> {
    const result = await tryConnect({ port: stack.mqttPort, servername: 'demo.messaging.localhost', caPem: managedCaOf(stack.running.registry.require('demo')).certPem, cert: { certPem: device.certPem, keyPem: device.keyPem }, clientId: `d:demo:sensor:${deviceId}` })
    if (result.outcome === 'connected') live.push(result.client)
    return result
  }

  async function metrics (): Promise<string> {
    return (await httpsRequest(stack.adminPort, { path: '/metrics', caPem: readFileSync(path.join(stack.dataDir, 'admin', 'ca.pem'), 'utf8'), headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text
  }

  it('refuses at upload a CRL whose nextUpdate has passed (CERTS_ERR_CRL_EXPIRED), and keeps none', async () => {
    const stale = chainCrl(closedCa, [], { lastUpdate: new Date(Date.now() - 60 * MINUTE), nextUpdate: new Date(Date.now() - MINUTE) })
    assertRefused(await cli('ca', 'crl', 'demo', ids.closed, stale), 'CERTS_ERR_CRL_EXPIRED')
    assert.equal(stack.running.registry.require('demo').cas.find(c => c.id === ids.closed)?.crl, undefined)
  })

  it('sets a CA\'s CRL policy with ca crl-policy (open by default), and refuses another word or the managed CA', async () => {
    const listed = JSON.parse((await cli('ca', 'list', 'demo', '--json')).stdout)
    assert.equal(listed.cas.find((c: any) => c.id === ids.closed).crl_policy, 'open')
    const set = await cli('ca', 'crl-policy', 'demo', ids.closed, 'closed')
    assert.equal(set.status, 0, showResult(set))
    assert.match(set.stdout, /^CRL policy closed for /)
    assert.equal(stack.running.registry.require('demo').cas.find(c => c.id === ids.closed)?.crlPolicy, 'closed')
    assertRefused(await cli('ca', 'crl-policy', 'demo', ids.closed, 'shut'), 'ADMIN_ERR_BAD_REQUEST')
    assertRefused(await cli('ca', 'crl-policy', 'demo', managedCaOf(stack.running.registry.require('demo')).id, 'closed'), 'CERTS_ERR_CA_MANAGED')
  })

  it('once a loaded CRL passes nextUpdate: warns once, the gauge goes negative, closed refuses the CA\'s devices (live ones too) until a fresh CRL, open keeps them', async () => {
    // Loaded in-process: a CLI run can take seconds on a busy machine, and these expire in a few.
    const soon = { lastUpdate: new Date(Date.now() - MINUTE), nextUpdate: new Date(Date.now() + 6000) }
    for (const [ca, id] of [[closedCa, ids.closed], [openCa, ids.open]] as const) {
      await loadCrl(stack.running.registry, 'demo', id, readFileSync(chainCrl(ca, [], soon), 'utf8'), 'test')
    }
    const before = await metrics()
    const left = sample(before, 'mqgate_crl_next_update_seconds', { org: 'demo', ca: ids.closed }) as number
    assert.ok(left > 0 && left <= 6, `seconds left: ${left}`)
    const closedLive = await mqtt(closedDevice, 'fresh-closed')
    const openLive = await mqtt(openDevice, 'fresh-open')
    assert.equal(closedLive.outcome, 'connected')
    assert.equal(openLive.outcome, 'connected')

    await stack.logs.waitFor(l => l.event === 'crl.stale' && l.caId === ids.closed, 15_000)
    assert.ok(await closed(closedLive.client as MqttClient, 5000), 'the live session of the closed CA is closed')
    assert.deepEqual(await mqtt(closedDevice, 'fresh-closed'), { outcome: 'connack', returnCode: 5 })
    assert.ok(await stack.logs.waitFor(l => l.code === 'BROKER_ERR_CRL_EXPIRED' && l.clientId === 'd:demo:sensor:fresh-closed'))
    const caPem = managedCaOf(stack.running.registry.require('demo')).certPem
    const tempsAs = async (device: ChainLeaf): Promise<number> =>
      (await httpsRequest(stack.apiPort, { path: '/temps', caPem, cert: { certPem: device.certPem, keyPem: device.keyPem }, servername: 'demo.messaging.localhost' })).status
    assert.equal(await tempsAs(closedDevice), 403)
    assert.ok(stack.logs.find(l => l.event === 'api.refused' && l.code === 'BROKER_ERR_CRL_EXPIRED'))
    assert.equal(await tempsAs(openDevice), 200)
    assert.ok(openLive.client?.connected, 'the open CA\'s live session stays')
    assert.equal((await mqtt(openDevice, 'fresh-open')).outcome, 'connected')
    const after = await metrics()
    assert.ok((sample(after, 'mqgate_crl_next_update_seconds', { org: 'demo', ca: ids.closed }) as number) < 0)
    assert.ok((sample(after, 'mqgate_crl_next_update_seconds', { org: 'demo', ca: ids.open }) as number) < 0)

    // Another change re-runs the watch: still one warning per CRL.
    await cli('ca', 'crl-policy', 'demo', ids.open, 'open')
    assert.equal(stack.logs.lines.filter(l => l.event === 'crl.stale' && l.caId === ids.closed).length, 1)
    assert.equal(stack.logs.lines.filter(l => l.event === 'crl.stale' && l.caId === ids.open).length, 1)

    const fresh = await cli('ca', 'crl', 'demo', ids.closed, chainCrl(closedCa, []))
    assert.equal(fresh.status, 0, showResult(fresh))
    assert.equal((await mqtt(closedDevice, 'fresh-closed')).outcome, 'connected')
  })
})
