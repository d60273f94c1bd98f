import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { Page } from 'puppeteer-core'
import { startConsoleHarness, type ConsoleHarness } from '../support/console-browser.js'
import { assertCspClean } from '../support/console-csp.js'
import { downloadedFile, pageWithDownloads } from '../support/console-downloads.js'
import { openssl } from '../support/openssl.js'
import { makeTempDir } from '../support/temp-dir.js'

declare const document: any

/**
 * The claims and enrollment tokens page in a real Chromium: a claim created
 * and handed over once as c_<name>.pem (openssl reads its certificate, its key
 * is the certificate's and in no page afterwards), revoked; a one-time token
 * shown once and never again; a viewer offered no change; another
 * organisation's org-admin refused by URL with the code.
 */
describe('web console: an organisation\'s claims and enrollment tokens', function () {
  this.timeout(120_000)
  let harness: ConsoleHarness
  let temp: { dir: string, remove: () => Promise<void> }
  let downloads: string
  let page: Page

  before(async () => {
    temp = await makeTempDir('console-claims')
    downloads = path.join(temp.dir, 'downloads')
    mkdirSync(downloads)
    harness = await startConsoleHarness({ orgs: ['acme', 'demo'] })
    page = await pageWithDownloads(harness.browser, downloads)
    page.on('dialog', dialog => { void dialog.accept() })
    await harness.signIn(page, harness.gateway.admin.token)
  })
  after(async () => {
    await harness?.close()
    await temp?.remove()
  })

  const claims = async (): Promise<any[]> => (await harness.adminCall('GET', '/orgs/acme/claims')).body.claims
  const claimsUrl = (): string => `${harness.consoleUrl}/orgs/acme/claims`

  it('creates a claim handed over once as c_<name>.pem (openssl reads it; the key is the certificate\'s), and the key is in no page afterwards', async () => {
    await page.goto(claimsUrl())
    await page.type('#claim-name', 'factory-1')
    await page.type('#claim-types', 'sensor, meter')
    await page.type('#claim-max-uses', '5')
    await page.type('#claim-expires', '7d')
    await page.click('#claim-form button[type=submit]')
    const { bytes } = await downloadedFile(downloads, 'c_factory-1.pem')
    const pemFile = path.join(temp.dir, 'claim.pem')
    writeFileSync(pemFile, bytes)
    assert.match(openssl(['x509', '-in', pemFile, '-noout', '-subject']), /CN\s*=\s*c:factory-1/)
    assert.equal(openssl(['pkey', '-in', pemFile, '-pubout']), openssl(['x509', '-in', pemFile, '-noout', '-pubkey']))
    assert.equal(bytes.toString().match(/BEGIN CERTIFICATE/g)?.length, 2, 'the CA is in the bundle')
    const keyLine = bytes.toString().split('PRIVATE KEY-----\n')[1].split('\n')[0]
    const created = (await claims()).find(c => c.name === 'factory-1')
    assert.deepEqual([created.types, created.max_uses, created.status], [['sensor', 'meter'], 5, 'active'])
    await page.goto(claimsUrl())
    const row = await page.$eval('#claim-factory-1', e => e.textContent ?? '')
    assert.match(row, /sensor, meter/)
    assert.match(row, /0 \/ 5/)
    assert.ok(!(await page.content()).includes(keyLine), 'the page shows the key')
    assert.ok(!(await harness.adminCall('GET', '/orgs/acme/claims')).text.includes(keyLine))
    await harness.screenshot(page, 'claims')
  })

  it('shows the API\'s code and message when a claim is refused', async () => {
    await page.goto(claimsUrl())
    await page.type('#claim-name', 'factory-1')
    await page.type('#claim-types', 'sensor')
    await Promise.all([page.waitForNavigation(), page.click('#claim-form button[type=submit]')])
    assert.match(await page.$eval('main > .refusal', e => e.textContent ?? ''), /CERTS_ERR_CLAIM_EXISTS/)
  })

  it('revokes a claim', async () => {
    await page.goto(claimsUrl())
    await Promise.all([
      page.waitForFunction(() => document.querySelector('#claim-factory-1 .state')?.textContent === 'revoked'),
      page.click('#claim-factory-1 form[action$="/revoke"] button')
    ])
    assert.equal((await claims()).find(c => c.name === 'factory-1').status, 'revoked')
  })

  it('creates a one-time enrollment token shown once, marked so, and never again', async () => {
    await page.goto(claimsUrl())
    await page.type('#token-cn', 'd:sensor:tok-1')
    await page.type('#token-ttl', '1h')
    const [answer] = await Promise.all([page.waitForNavigation(), page.click('#token-form button[type=submit]')])
    assert.equal(answer?.headers()['cache-control'], 'no-store')
    assert.match(await page.$eval('#token-title', e => e.textContent ?? ''), /d:sensor:tok-1 \(shown once\)/)
    const token = await page.$eval('#token-value', e => (e as any).value as string)
    assert.ok(token.length >= 20, 'no token shown')
    await page.goto(claimsUrl())
    assert.equal(await page.$('#token-value'), null)
    assert.ok(!(await page.content()).includes(token), 'the token is shown again')
    assert.doesNotMatch(harness.gateway.logs.text(), new RegExp(token.replace(/[^A-Za-z0-9]/g, '.')))
  })

  it('serves the page under the strict CSP with no inline script, style or handler, and the browser reports no violation', async () => {
    await assertCspClean(page, claimsUrl())
  })

  it('offers a viewer no change, and answers an org-admin of demo the 403 with its code for acme\'s page', async () => {
    const viewer = await harness.newPage()
    await harness.signIn(viewer, await harness.createOperator('acme-viewer', 'viewer', ['acme']))
    assert.equal((await viewer.goto(claimsUrl()))?.status(), 200)
    assert.equal((await viewer.$$('tbody tr')).length, 1, 'the list is shown')
    for (const control of ['#claim-form', '#token-form', 'form[action$="/revoke"]']) assert.equal(await viewer.$(control), null, control)
    await viewer.browserContext().close()

    const other = await harness.newPage()
    await harness.signIn(other, await harness.createOperator('demo-admin', 'org-admin', ['demo']))
    assert.equal((await other.goto(`${harness.consoleUrl}/orgs/demo/claims`))?.status(), 200)
    const refused = await other.goto(claimsUrl())
    assert.equal(refused?.status(), 403)
    assert.match(await other.$eval('.refusal', e => e.textContent ?? ''), /ADMIN_ERR_FORBIDDEN_ORG/)
    await other.browserContext().close()
  })
})
