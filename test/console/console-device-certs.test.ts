import assert from 'node:assert/strict'
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { Page } from 'puppeteer-core'
import { startConsoleHarness, type ConsoleHarness } from '../support/console-browser.js'
import { assertCspClean } from '../support/console-csp.js'
import { downloadedFile, pageWithDownloads } from '../support/console-downloads.js'
import { openssl, opensslCsr } from '../support/openssl.js'
import { makeTempDir } from '../support/temp-dir.js'

declare const document: any

/**
 * The device certificates page in a real Chromium: a certificate issued with
 * a generated key, downloaded once as PEM and once as PKCS#12 (openssl reads
 * both) and the key to be had nowhere afterwards; one issued from a CSR made
 * with openssl; search by identity, serial and fingerprint; "expiring soon";
 * revoke and restore; a viewer offered no change; another organisation's
 * org-admin refused by URL with the code.
 */
describe('web console: an organisation\'s device certificates', function () {
  this.timeout(120_000)
  let harness: ConsoleHarness
  let temp: { dir: string, remove: () => Promise<void> }
  let downloads: string
  let page: Page

  before(async () => {
    temp = await makeTempDir('console-device-certs')
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

  const certs = async (): Promise<any[]> => (await harness.adminCall('GET', '/orgs/acme/certs')).body.certificates
  const certOf = async (cn: string): Promise<any> => (await certs()).find(c => c.common_name === cn)
  const issueWithKey = async (cn: string, format: 'pem' | 'p12', password = ''): Promise<void> => {
    await page.goto(`${harness.consoleUrl}/orgs/acme/device-certs`)
    await page.type('#issue-cn', cn)
    await page.click(`#issue-format-${format}`)
    if (password !== '') await page.type('#issue-password', password)
    await page.click('#issue-form button[type=submit]')
  }
  const file = (name: string, bytes: Buffer): string => {
    const target = path.join(temp.dir, name)
    writeFileSync(target, bytes)
    return target
  }

  it('issues a certificate with a generated key as a one-time PEM download that openssl reads; the key is nowhere afterwards', async () => {
    await issueWithKey('d:sensor:pem-1', 'pem')
    const { bytes } = await downloadedFile(downloads, 'd_sensor_pem-1.pem')
    const pemFile = file('pem-1.pem', bytes)
    assert.match(openssl(['x509', '-in', pemFile, '-noout', '-subject']), /CN\s*=\s*d:sensor:pem-1/)
    // The key in the file is the certificate's.
    assert.equal(openssl(['pkey', '-in', pemFile, '-pubout']), openssl(['x509', '-in', pemFile, '-noout', '-pubkey']))
    const keyLine = bytes.toString().split('PRIVATE KEY-----\n')[1].split('\n')[0]
    const issued = await certOf('d:sensor:pem-1')
    assert.equal(issued.status, 'active')
    // Nothing hands it out again: not the page, not the list, not the API's record of it.
    await page.goto(`${harness.consoleUrl}/orgs/acme/device-certs`)
    assert.ok((await page.content()).includes(issued.serial_number))
    assert.ok(!(await page.content()).includes(keyLine), 'the page shows the key')
    const record = await harness.adminCall('GET', `/orgs/acme/certs/${issued.id as string}`)
    assert.ok(!record.text.includes(keyLine) && record.body.private_key === undefined)
    assert.ok(!(await harness.adminCall('GET', '/orgs/acme/certs')).text.includes(keyLine))
    const again = await page.goto(`${harness.consoleUrl}/orgs/acme/device-certs/${issued.id as string}`)
    assert.equal(again?.status(), 404)
    assert.ok(!(await page.content()).includes(keyLine))
    assert.doesNotMatch(harness.gateway.logs.text(), new RegExp(keyLine.slice(0, 40).replace(/[+/]/g, '\\$&')))
  })

  it('hands a generated key over as PKCS#12 with the typed password (openssl reads it), and refuses PKCS#12 without a password before issuing', async () => {
    const count = (await certs()).length
    await issueWithKey('d:sensor:nopass', 'p12')
    await page.waitForSelector('main > .refusal')
    assert.match(await page.$eval('main > .refusal', e => e.textContent ?? ''), /ADMIN_ERR_BAD_REQUEST/)
    assert.equal((await certs()).length, count, 'a certificate was issued whose key could not be handed over')

    await issueWithKey('d:sensor:p12-1', 'p12', 'bundle-pass')
    const { bytes } = await downloadedFile(downloads, 'd_sensor_p12-1.p12')
    const p12 = file('p12-1.p12', bytes)
    const info = openssl(['pkcs12', '-info', '-in', p12, '-passin', 'pass:bundle-pass', '-nodes'])
    assert.match(info, /subject=.*CN\s*=\s*d:sensor:p12-1/)
    assert.match(info, /BEGIN PRIVATE KEY/)
    assert.throws(() => openssl(['pkcs12', '-info', '-in', p12, '-passin', 'pass:wrong', '-nodes']))
  })

  it('issues from a CSR made with openssl (chosen as a file), keeping the device\'s key', async () => {
    const csr = opensslCsr(temp.dir, 'device', '/CN=d:sensor:csr-1')
    await page.goto(`${harness.consoleUrl}/orgs/acme/device-certs`)
    await (await page.$('#issue-csr-pick'))?.uploadFile(csr.csrFile)
    await page.waitForFunction(() => document.getElementById('issue-csr-file').value !== '')
    await Promise.all([page.waitForNavigation(), page.click('#issue-form button[type=submit]')])
    const issued = await certOf('d:sensor:csr-1')
    assert.ok(issued, 'not issued')
    const certFile = file('csr-1.crt', Buffer.from(issued.certificate))
    assert.equal(openssl(['x509', '-in', certFile, '-noout', '-pubkey']), openssl(['pkey', '-in', csr.keyFile, '-pubout']))
    // The page it lands on is the search for the new serial.
    assert.deepEqual(await page.$$eval('tbody .subject', cells => cells.map(c => c.textContent)), ['d:sensor:csr-1'])
    await page.goto(`${harness.consoleUrl}/orgs/acme/device-certs`)
    await harness.screenshot(page, 'device-certs')
  })

  it('finds a certificate by identity, serial or fingerprint, and lists only those expiring soon under the filter', async () => {
    await harness.adminCall('POST', '/orgs/acme/certs', { cn: 'd:sensor:short-1', days: 3 })
    const target = await certOf('d:sensor:csr-1')
    const shown = async (query: string): Promise<string[]> => {
      await page.goto(`${harness.consoleUrl}/orgs/acme/device-certs?${query}`)
      return await page.$$eval('tbody .subject', cells => cells.map(c => c.textContent ?? ''))
    }
    assert.deepEqual(await shown('q=csr-1'), ['d:sensor:csr-1'])
    assert.deepEqual(await shown(`q=${encodeURIComponent(String(target.serial_number).toLowerCase())}`), ['d:sensor:csr-1'])
    const colons = String(target.fingerprint_sha256).toUpperCase().match(/../g)?.join(':') ?? ''
    assert.deepEqual(await shown(`q=${encodeURIComponent(colons)}`), ['d:sensor:csr-1'])
    assert.deepEqual((await shown('q=d%3Asensor')).sort(), ['d:sensor:csr-1', 'd:sensor:p12-1', 'd:sensor:pem-1', 'd:sensor:short-1'])
    // Through the form, as a person uses it.
    await page.goto(`${harness.consoleUrl}/orgs/acme/device-certs`)
    await page.select('#cert-expiring', '7d')
    // The search form is boosted by htmx: wait for the answer's caption, not for a navigation.
    await Promise.all([page.waitForFunction(() => document.querySelector('caption')?.textContent?.includes('expiring within 7d') === true), page.click('form.search button')])
    assert.deepEqual(await page.$$eval('tbody .subject', cells => cells.map(c => c.textContent)), ['d:sensor:short-1'])
  })

  it('revokes a certificate and restores it', async () => {
    const { id } = await certOf('d:sensor:pem-1')
    await page.goto(`${harness.consoleUrl}/orgs/acme/device-certs`)
    await Promise.all([page.waitForFunction((row: string) => document.querySelector(row + ' .state')?.textContent === 'revoked', {}, `#cert-${id as string}`), page.click(`#cert-${id as string} form[action$="/revoke"] button`)])
    assert.equal((await certOf('d:sensor:pem-1')).status, 'revoked')
    await Promise.all([page.waitForFunction((row: string) => document.querySelector(row + ' .state')?.textContent === 'active', {}, `#cert-${id as string}`), page.click(`#cert-${id as string} form[action$="/restore"] button`)])
    assert.equal((await certOf('d:sensor:pem-1')).status, 'active')
    assert.ok(harness.gateway.logs.find(l => l.event === 'audit' && l.action === 'cert.revoke' && String(l.actor).startsWith('console@')))
  })

  it('serves the page under the strict CSP with no inline script, style or handler, and the browser reports no violation', async () => {
    await assertCspClean(page, `${harness.consoleUrl}/orgs/acme/device-certs`)
  })

  it('offers a viewer no change, and answers an org-admin of demo the 403 with its code for acme\'s page', async () => {
    const viewer = await harness.newPage()
    await harness.signIn(viewer, await harness.createOperator('acme-viewer', 'viewer', ['acme']))
    assert.equal((await viewer.goto(`${harness.consoleUrl}/orgs/acme/device-certs`))?.status(), 200)
    assert.ok((await viewer.$$('tbody tr')).length >= 4, 'the list is shown')
    for (const control of ['#issue-form', 'form[action$="/revoke"]', 'form[action$="/restore"]']) assert.equal(await viewer.$(control), null, control)
    await viewer.browserContext().close()

    const other = await harness.newPage()
    await harness.signIn(other, await harness.createOperator('demo-admin', 'org-admin', ['demo']))
    assert.equal((await other.goto(`${harness.consoleUrl}/orgs/demo/device-certs`))?.status(), 200)
    const refused = await other.goto(`${harness.consoleUrl}/orgs/acme/device-certs`)
    assert.equal(refused?.status(), 403)
    assert.match(await other.$eval('.refusal', e => e.textContent ?? ''), /ADMIN_ERR_FORBIDDEN_ORG/)
    await other.browserContext().close()
  })
})
