import assert from 'node:assert/strict'
import { orgLimitsOf } from '../../certs/index.js'
import { startTestGateway, type TestGateway } from '../support/gateway.js'
import { cliJson, mqgateCli, showResult, type CliResult } from '../support/mqgate-cli.js'
import { tryConnect } from '../support/mqtt-client.js'

/**
 * `mqgate org limits` as an operator runs it: a child process talking HTTPS
 * to the admin API of a gateway running in this process.
 */
describe('cli: mqgate org limits', function () {
  this.timeout(60_000)
  let gw: TestGateway

  before(async () => { gw = await startTestGateway({ orgs: ['acme', 'globex'] }) })
  after(async () => await gw.close())

  const cli = async (args: readonly string[]): Promise<CliResult> => await mqgateCli(args, gw.admin)
  const json = async (args: readonly string[]): Promise<any> => await cliJson(cli, args)

  function assertRefused (result: CliResult, code: string): void {
    assert.equal(result.status, 1, showResult(result))
    assert.match(result.stderr, new RegExp(`^mqgate: ${code}: `), showResult(result))
  }

  it('shows no limits by default', async () => {
    assert.deepEqual(await json(['org', 'limits', 'acme']), { org: 'acme', connections: null, publish_rate: null, updated_at: null })
    const text = await cli(['org', 'limits', 'acme'])
    assert.equal(text.status, 0, showResult(text))
    assert.equal(text.stdout.trim(), 'limits of acme: connections none, publish rate none (per broker process)')
  })

  it('sets limits, shows them, and the broker applies them to the next CONNECT', async () => {
    const set = await json(['org', 'limits', 'acme', '--connections', '1', '--publish-rate', '100'])
    assert.equal(set.connections, 1)
    assert.equal(set.publish_rate, 100)
    assert.deepEqual(await json(['org', 'limits', 'acme']), set)
    const text = await cli(['org', 'limits', 'acme'])
    assert.equal(text.stdout.trim(), 'limits of acme: connections 1, publish rate 100/s (per broker process)')
    assert.deepEqual(orgLimitsOf(gw.registry.require('acme')), { connections: 1, publishRate: 100 })
    assert.deepEqual((await json(['org', 'list'])).orgs.map((o: any) => [o.id, o.limits]), [['acme', { connections: 1, publish_rate: 100 }], ['globex', { connections: null, publish_rate: null }]])
    const audit = gw.logs.lines.find(l => l.event === 'audit' && l.action === 'org.limits')
    assert.equal(audit?.orgId, 'acme')

    const spec = (id: string): Parameters<typeof tryConnect>[0] =>
      ({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert: gw.issue('acme', `d:sensor:${id}`), clientId: `d:acme:sensor:${id}` })
    const first = await tryConnect(spec('c1'))
    assert.equal(first.outcome, 'connected')
    assert.deepEqual(await tryConnect(spec('c2')), { outcome: 'connack', returnCode: 3 })
    if (first.outcome === 'connected') await first.client.endAsync()
  })

  it('lifts one limit with none and keeps the other', async () => {
    const lifted = await json(['org', 'limits', 'acme', '--connections', 'none'])
    assert.equal(lifted.connections, null)
    assert.equal(lifted.publish_rate, 100)
    assert.deepEqual(orgLimitsOf(gw.registry.require('acme')), { publishRate: 100 })
  })

  it('refuses 0, a negative, a fraction or a word with CERTS_ERR_LIMIT_INVALID, and changes nothing', async () => {
    const before = await json(['org', 'limits', 'acme'])
    // Each a child process (about 2 s on a loaded machine): the full table is in test/certs/org-limits.test.ts.
    for (const bad of ['0', '-5', '2.5', 'ten']) assertRefused(await cli(['org', 'limits', 'acme', '--connections', bad]), 'CERTS_ERR_LIMIT_INVALID')
    // A good value beside a bad one: nothing is changed.
    assertRefused(await cli(['org', 'limits', 'acme', '--connections', '5', '--publish-rate', '0']), 'CERTS_ERR_LIMIT_INVALID')
    assert.deepEqual(await json(['org', 'limits', 'acme']), before)
    assert.deepEqual(orgLimitsOf(gw.registry.require('acme')), { publishRate: 100 })
  })

  it('refuses an organisation that does not exist with CERTS_ERR_ORG_NOT_FOUND', async () => {
    assertRefused(await cli(['org', 'limits', 'nope', '--connections', '3']), 'CERTS_ERR_ORG_NOT_FOUND')
    assertRefused(await cli(['org', 'limits', 'nope']), 'CERTS_ERR_ORG_NOT_FOUND')
  })
})
