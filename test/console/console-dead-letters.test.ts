import assert from 'node:assert/strict'
import type { Page } from 'puppeteer-core'
import { startConsoleHarness, type ConsoleHarness } from '../support/console-browser.js'
import { readingAdminRoutes } from '../../bridge/index.js'
import { MemoryDeadLetters } from '../../bridge/dead-letters.js'
import { assertCspClean } from '../support/console-csp.js'

/**
 * The bridge's dead letters page in a real Chromium: an admin reaches it from
 * the organisations page and reads the list (`GET /readings/dead-letters`);
 * an org-admin is offered no link and is answered the API's 403 by URL.
 */
declare const document: any

describe('web console: the bridge\'s dead letters (admins only)', function () {
  this.timeout(120_000)
  let harness: ConsoleHarness
  let page: Page

  before(async () => {
    // The bridge's own store and route, as `mqgate start` registers them, with one letter in it.
    const letters = new MemoryDeadLetters()
    await letters.add({ at: '2026-01-02T03:04:05.000Z', code: 'BRIDGE_ERR_PAYLOAD_NOT_JSON', reason: 'the payload is not JSON', orgId: 'acme', typeId: 'sensor', deviceId: 'dl-1', payload: 'not json', payloadEncoding: 'utf8' })
    harness = await startConsoleHarness({ orgs: ['acme'], adminRoutes: [readingAdminRoutes(letters)] })
    page = await harness.newPage()
    await harness.signIn(page, harness.gateway.admin.token)
  })
  after(async () => {
    await harness?.close()
  })

  it('shows an admin the dead letters, linked from the organisations page, read-only', async () => {
    await page.goto(`${harness.consoleUrl}/orgs`)
    await Promise.all([page.waitForFunction(() => document.querySelector('h1')?.textContent?.includes('Dead letters') === true), page.click('#dead-letters-link')])
    assert.equal(new URL(page.url()).pathname, '/console/dead-letters')
    assert.match(await page.$eval('h1', e => e.textContent ?? ''), /Dead letters of the bridge/)
    const api = await harness.adminCall('GET', '/readings/dead-letters')
    assert.equal(api.status, 200)
    assert.equal(api.body.dead_letters.length, 1)
    assert.match(await page.$eval('caption', e => e.textContent ?? ''), /^1 dead letter$/)
    const row = await page.$eval('tbody tr', e => (e.textContent ?? '').replace(/\s+/g, ' '))
    for (const part of ['acme', 'sensor:dl-1', 'BRIDGE_ERR_PAYLOAD_NOT_JSON', 'not json']) assert.ok(row.includes(part), part)
    assert.equal(await page.$('form[method="post"]:not(.sign-out)'), null, 'a change is offered')
    await harness.screenshot(page, 'dead-letters')
  })

  it('serves the page under the strict CSP with no inline script, style or handler, and the browser reports no violation', async () => {
    await assertCspClean(page, `${harness.consoleUrl}/dead-letters`)
  })

  it('offers an org-admin no link, and answers it the 403 with the API\'s code by URL', async () => {
    const other = await harness.newPage()
    await harness.signIn(other, await harness.createOperator('acme-admin', 'org-admin', ['acme']))
    await other.goto(`${harness.consoleUrl}/orgs`)
    assert.equal(await other.$('#dead-letters-link'), null)
    const refused = await other.goto(`${harness.consoleUrl}/dead-letters`)
    assert.equal(refused?.status(), 403)
    assert.match(await other.$eval('.refusal', e => e.textContent ?? ''), /ADMIN_ERR_FORBIDDEN/)
    await other.browserContext().close()
  })
})
