import assert from 'node:assert/strict'
import { createCsr, generateKeyPair, issueClientCert, renew, renewalWindowOf, setRenewalWindow } from '../../certs/index.js'
import { startTestGateway, type TestGateway } from '../support/gateway.js'
import { cliJson, mqgateCli, showResult, type CliResult } from '../support/mqgate-cli.js'

/**
 * `mqgate org renewal` and `mqgate cert list --expiring` as an operator runs
 * them: a child process talking HTTPS to the admin API of a gateway running
 * in this process.
 */
describe('cli: mqgate org renewal, cert list --expiring', function () {
  this.timeout(60_000)
  let gw: TestGateway

  before(async () => { gw = await startTestGateway({ orgs: ['acme', 'globex'] }) })
  after(async () => await gw.close())

  const cli = async (args: readonly string[], token = gw.admin.token): Promise<CliResult> => await mqgateCli(args, { ...gw.admin, token })
  const json = async (args: readonly string[]): Promise<any> => await cliJson(cli, args)

  function assertRefused (result: CliResult, code: string): void {
    assert.equal(result.status, 1, showResult(result))
    assert.match(result.stderr, new RegExp(`^mqgate: ${code}: `), showResult(result))
  }

  it('shows the default window, 30 %', async () => {
    assert.deepEqual(await json(['org', 'renewal', 'acme']), { org: 'acme', window_percent: 30, default: true, default_window_percent: 30, updated_at: null })
    const text = await cli(['org', 'renewal', 'acme'])
    assert.equal(text.stdout.trim(), 'renewal window of acme: the last 30% of a certificate\'s lifetime (the default)')
  })

  it('sets the window, audited; any is 100 %', async () => {
    assert.equal((await json(['org', 'renewal', 'acme', '--window', '50%'])).window_percent, 50)
    assert.equal(renewalWindowOf(gw.registry.require('acme')), 50)
    assert.equal(gw.logs.lines.find(l => l.event === 'audit' && l.action === 'org.renewal')?.windowPercent, 50)
    assert.equal((await json(['org', 'renewal', 'globex', '--window', 'any'])).window_percent, 100)
  })

  it('refuses 0%, 101% or a word with CERTS_ERR_RENEW_WINDOW_INVALID, and changes nothing', async () => {
    for (const bad of ['0%', '101%', 'soon']) assertRefused(await cli(['org', 'renewal', 'acme', '--window', bad]), 'CERTS_ERR_RENEW_WINDOW_INVALID')
    assert.equal(renewalWindowOf(gw.registry.require('acme')), 50)
  })

  it('lets an org-admin set its own organisations\' window only, and a viewer read it', async () => {
    const orgAdmin = (await json(['operator', 'create', 'globex-admin', '--role', 'org-admin', '--org', 'globex'])).token as string
    const viewer = (await json(['operator', 'create', 'acme-viewer', '--role', 'viewer', '--org', 'acme'])).token as string
    assert.equal((await cli(['org', 'renewal', 'globex', '--window', '20%'], orgAdmin)).status, 0)
    assertRefused(await cli(['org', 'renewal', 'acme', '--window', '20%'], orgAdmin), 'ADMIN_ERR_FORBIDDEN_ORG')
    assert.equal((await cli(['org', 'renewal', 'acme'], viewer)).status, 0)
    assertRefused(await cli(['org', 'renewal', 'acme', '--window', '20%'], viewer), 'ADMIN_ERR_FORBIDDEN_ROLE')
    assert.equal(renewalWindowOf(gw.registry.require('acme')), 50)
  })

  it('cert list --expiring leaves out a certificate already replaced, and shows what replaces what', async () => {
    await setRenewalWindow(gw.registry, 'acme', 'any', 'test')
    const keys = generateKeyPair('ec')
    const issue = async (cn: string): Promise<string> => (await issueClientCert(gw.registry, 'acme', { commonName: cn, csrPem: createCsr(keys.privateKeyPem, cn, []), days: 10 }, 'test')).record.id
    const renewedId = await issue('d:sensor:renewed')
    const staleId = await issue('d:sensor:stale')
    const current = await gw.registry.store.get('acme', 'issued', renewedId)
    const { record: replacement } = await renew(gw.registry, 'acme', current as NonNullable<typeof current>, createCsr(keys.privateKeyPem, 'd:sensor:renewed', []), 'test')
    const listed = (await json(['cert', 'list', 'acme', '--expiring', '30d'])).certificates as Array<{ id: string, replaces: string | null }>
    const ids = listed.map(c => c.id)
    assert.ok(ids.includes(staleId), 'a device that has not renewed is listed')
    assert.ok(!ids.includes(renewedId), 'the replaced certificate is not')
    assert.equal(listed.find(c => c.id === replacement.id)?.replaces, renewedId)
    // Without --expiring every certificate is listed, the replaced one too.
    assert.ok((await json(['cert', 'list', 'acme'])).certificates.some((c: { id: string }) => c.id === renewedId))
  })
})
