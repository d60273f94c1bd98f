import assert from 'node:assert/strict'
import type { Page } from 'puppeteer-core'
import { startConsoleHarness, type ConsoleHarness } from '../support/console-browser.js'
import { assertCspClean } from '../support/console-csp.js'

declare const document: any

/**
 * The gateways page in a real Chromium: a gateway looked up by id, its device
 * scope set through the form and read back (from the API and the page), an
 * invalid entry refused with the API's code, the limit removed again; a viewer
 * offered no change; another organisation's org-admin refused by URL.
 */
describe('web console: an organisation\'s gateways and their device scopes', function () {
  this.timeout(120_000)
  let harness: ConsoleHarness
  let page: Page

  before(async () => {
    harness = await startConsoleHarness({ orgs: ['acme', 'demo'] })
    page = await harness.newPage()
    await harness.signIn(page, harness.gateway.admin.token)
  })
  after(async () => {
    await harness?.close()
  })

  const gatewaysUrl = (query = ''): string => `${harness.consoleUrl}/orgs/acme/gateways${query}`
  const scopeShown = async (): Promise<string> => await page.$eval('#scope-now', e => e.tagName === 'UL' ? Array.from(e.querySelectorAll('li')).map((li: any) => li.textContent).join(' ') : (e.textContent ?? '').trim())

  it('looks a gateway up, sets the devices it may act for and reads them back', async () => {
    await page.goto(gatewaysUrl())
    await page.type('#gateway-id', 'gw:hall-9')
    await Promise.all([page.waitForFunction(() => document.querySelector('#scope-now') !== null), page.click('form.search button')])
    assert.match(await scopeShown(), /any device of acme/)
    await page.type('#scope-allow', 'sensor:a1\nvalve:*')
    await Promise.all([page.waitForFunction(() => document.querySelectorAll('#scope-now li').length === 2), page.click('#scope-form button')])
    assert.equal(await scopeShown(), 'sensor:a1 valve:*')
    const api = await harness.adminCall('GET', '/orgs/acme/gateways/gw:hall-9/devices')
    assert.deepEqual(api.body.allow, ['sensor:a1', 'valve:*'])
    await page.goto(gatewaysUrl('?gateway=gw%3Ahall-9'))
    assert.equal(await scopeShown(), 'sensor:a1 valve:*')
    assert.equal(await page.$eval('#scope-allow', e => (e as any).value), 'sensor:a1\nvalve:*')
    await harness.screenshot(page, 'gateways')
  })

  it('shows the API\'s code and message for an invalid entry, and removes the limit with an empty list', async () => {
    await page.goto(gatewaysUrl('?gateway=gw%3Ahall-9'))
    await page.$eval('#scope-allow', e => { (e as any).value = 'sensor' })
    await Promise.all([page.waitForFunction(() => document.querySelector('main > .refusal') !== null), page.click('#scope-form button')])
    assert.match(await page.$eval('main > .refusal', e => e.textContent ?? ''), /CERTS_ERR_ALLOW_INVALID/)
    assert.deepEqual((await harness.adminCall('GET', '/orgs/acme/gateways/gw:hall-9/devices')).body.allow, ['sensor:a1', 'valve:*'])
    await page.goto(gatewaysUrl('?gateway=gw%3Ahall-9'))
    await page.$eval('#scope-allow', e => { (e as any).value = '' })
    await Promise.all([page.waitForFunction(() => document.querySelector('#scope-now')?.textContent?.includes('any device') === true), page.click('#scope-form button')])
    assert.equal((await harness.adminCall('GET', '/orgs/acme/gateways/gw:hall-9/devices')).body.allow, 'any')
  })

  it('serves the page under the strict CSP with no inline script, style or handler, and the browser reports no violation', async () => {
    await assertCspClean(page, gatewaysUrl('?gateway=gw%3Ahall-9'))
  })

  it('offers a viewer no change, and answers an org-admin of demo the 403 with its code for acme\'s page', async () => {
    await harness.adminCall('PUT', '/orgs/acme/gateways/gw:hall-9/devices', { allow: ['sensor:a1'] })
    const viewer = await harness.newPage()
    await harness.signIn(viewer, await harness.createOperator('acme-viewer', 'viewer', ['acme']))
    assert.equal((await viewer.goto(gatewaysUrl('?gateway=gw%3Ahall-9')))?.status(), 200)
    assert.equal(await viewer.$eval('#scope-now', e => (e.textContent ?? '').trim()), 'sensor:a1')
    assert.equal(await viewer.$('#scope-form'), null)
    await viewer.browserContext().close()

    const other = await harness.newPage()
    await harness.signIn(other, await harness.createOperator('demo-admin', 'org-admin', ['demo']))
    assert.equal((await other.goto(`${harness.consoleUrl}/orgs/demo/gateways`))?.status(), 200)
    const refused = await other.goto(gatewaysUrl('?gateway=gw%3Ahall-9'))
    assert.equal(refused?.status(), 403)
    assert.match(await other.$eval('.refusal', e => e.textContent ?? ''), /ADMIN_ERR_FORBIDDEN_ORG/)
    await other.browserContext().close()
  })
})
