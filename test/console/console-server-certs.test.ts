import assert from 'node:assert/strict'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { Page } from 'puppeteer-core'
import { startConsoleHarness, type ConsoleHarness } from '../support/console-browser.js'
import { assertCspClean } from '../support/console-csp.js'
import { downloadedFile, pageWithDownloads } from '../support/console-downloads.js'
import { openssl, opensslCa, opensslSign, opensslSpkiPin, type OpensslCa } from '../support/openssl.js'
import { makeTempDir } from '../support/temp-dir.js'

declare const navigator: any

const serverExtensions = (names: string): string => `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${names}\n`

/**
 * The server certificates page in a real Chromium: a CSR generated from the
 * form and downloaded (openssl verifies it), the certificate an outside CA
 * signed for it uploaded and activated, a certificate uploaded with its
 * passphrase-protected key, the SPKI pins shown and copied; a viewer is
 * offered no change and an org-admin of another organisation gets the 403.
 */
describe('web console: an organisation\'s server certificates', function () {
  this.timeout(120_000)
  let harness: ConsoleHarness
  let temp: { dir: string, remove: () => Promise<void> }
  let downloads: string
  let external: OpensslCa
  let page: Page
  const serverName = 'acme.messaging.localhost'

  before(async () => {
    temp = await makeTempDir('console-server-certs')
    downloads = path.join(temp.dir, 'downloads')
    mkdirSync(downloads)
    external = opensslCa(temp.dir, 'public-ca')
    harness = await startConsoleHarness({ orgs: ['acme', 'demo'] })
    page = await pageWithDownloads(harness.browser, downloads)
    await harness.signIn(page, harness.gateway.admin.token)
  })
  after(async () => {
    await harness?.close()
    await temp?.remove()
  })

  const serverCerts = async (): Promise<any[]> => (await harness.adminCall('GET', '/orgs/acme/server-certs')).body.server_certificates

  it('generates a CSR from the form and downloads it: openssl verifies it and finds the names', async () => {
    await page.goto(`${harness.consoleUrl}/orgs/acme/server-certs`)
    await page.type('#csr-sans', `${serverName}, mqtt.acme.example`)
    await page.click('#csr-form button[type=submit]')
    const download = await downloadedFile(downloads, /\.csr$/)
    const pending = (await serverCerts()).find(sc => sc.status === 'pending')
    assert.ok(pending, 'no pending CSR')
    assert.equal(download.name, `acme-${pending.id as string}.csr`)
    const csr = download.bytes
    const csrFile = path.join(temp.dir, 'server.csr')
    writeFileSync(csrFile, csr)
    openssl(['req', '-in', csrFile, '-verify', '-noout'])
    assert.match(openssl(['req', '-in', csrFile, '-noout', '-text']), /DNS:mqtt\.acme\.example/)
    assert.equal(csr.toString(), pending.csr)
    // It stays on the page (pending), with its new key's pin to ship as a backup.
    await page.goto(`${harness.consoleUrl}/orgs/acme/server-certs`)
    assert.match(await page.$eval(`#sc-${pending.id as string}`, e => e.textContent ?? ''), /pending/)
    assert.ok((await page.$eval('#pins', e => e.parentElement?.textContent ?? '')).includes(pending.spki_pin))
    await harness.screenshot(page, 'server-certs')
  })

  it('uploads the certificate signed for the CSR, activates it, and shows its pin as openssl computes it, copyable', async () => {
    const pending = (await serverCerts()).find(sc => sc.status === 'pending')
    const csrFile = path.join(temp.dir, 'server.csr')
    const signed = opensslSign(external, csrFile, 'server-1', serverExtensions(`DNS:${serverName},DNS:mqtt.acme.example`))
    await page.goto(`${harness.consoleUrl}/orgs/acme/server-certs`)
    await (await page.$('#sc-cert-pick'))?.uploadFile(signed.certFile)
    await page.waitForFunction(() => (globalThis as any).document.getElementById('sc-cert-file').value !== '')
    // The forms are boosted by htmx: wait for the page the change answers, not for a navigation.
    const stateIs = async (state: string): Promise<unknown> => await page.waitForFunction((row: string, want: string) => (globalThis as any).document.querySelector(row + ' .state')?.textContent === want, {}, `#sc-${pending.id as string}`, state)
    await Promise.all([stateIs('ready'), page.click('#upload-form button[type=submit]')])
    assert.equal((await serverCerts()).find(sc => sc.id === pending.id).status, 'ready')

    await Promise.all([stateIs('active'), page.click(`#sc-${pending.id as string} form[action$="/activate"] button`)])
    assert.equal((await serverCerts()).find(sc => sc.id === pending.id).active, true)
    const pin = opensslSpkiPin(signed.certFile)
    assert.equal(await page.$eval('#pin-active', e => e.textContent?.trim()), `sha256/${pin}`)

    await page.browserContext().overridePermissions(new URL(harness.consoleUrl).origin, ['clipboard-read', 'clipboard-write', 'clipboard-sanitized-write'])
    await page.click('button[data-copy="pin-active"]')
    await page.waitForFunction(() => (globalThis as any).document.getElementById('pin-active-copied').textContent === 'Copied')
    assert.equal(await page.evaluate(async () => await navigator.clipboard.readText()), `sha256/${pin}`)
  })

  it('uploads a certificate with its passphrase-protected key, and shows neither the key nor the passphrase', async () => {
    const keyFile = path.join(temp.dir, 'own.key')
    openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-aes-256-cbc', '-pass', 'pass:s3cret-phrase', '-out', keyFile])
    const csrFile = path.join(temp.dir, 'own.csr')
    openssl(['req', '-new', '-key', keyFile, '-passin', 'pass:s3cret-phrase', '-subj', `/CN=${serverName}`, '-out', csrFile])
    const signed = opensslSign(external, csrFile, 'own', serverExtensions(`DNS:${serverName}`))
    const before = (await serverCerts()).length
    await page.goto(`${harness.consoleUrl}/orgs/acme/server-certs`)
    await (await page.$('#sc-cert-pick'))?.uploadFile(signed.certFile)
    await (await page.$('#sc-key-pick'))?.uploadFile(keyFile)
    await page.waitForFunction(() => (globalThis as any).document.getElementById('sc-key-file').value.includes('ENCRYPTED PRIVATE KEY'))
    await page.type('#sc-passphrase', 'wrong')
    await Promise.all([page.waitForSelector('main > .refusal'), page.click('#upload-form button[type=submit]')])
    // The CLI's code and message for a wrong passphrase, and the form comes back empty.
    const api = await harness.adminCall('POST', '/orgs/acme/server-certs', { certificate: signed.certPem, key: readFileSync(keyFile, 'utf8'), passphrase: 'wrong' })
    assert.equal(await page.$eval('main > .refusal', e => e.textContent?.replace(/\s+/g, ' ').trim()), `${api.body.error.code as string} ${api.body.error.message as string}`)
    assert.equal(api.body.error.code, 'CERTS_ERR_KEY_PASSPHRASE')
    const keyLine = readFileSync(keyFile, 'utf8').split('\n')[1]
    assert.ok(!(await page.content()).includes(keyLine))

    await (await page.$('#sc-cert-pick'))?.uploadFile(signed.certFile)
    await (await page.$('#sc-key-pick'))?.uploadFile(keyFile)
    await page.waitForFunction(() => (globalThis as any).document.getElementById('sc-key-file').value.includes('ENCRYPTED PRIVATE KEY'))
    await page.type('#sc-passphrase', 's3cret-phrase')
    await Promise.all([page.waitForFunction(() => (globalThis as any).document.querySelector('main > .refusal') === null), page.click('#upload-form button[type=submit]')])
    const all = await serverCerts()
    assert.equal(all.length, before + 1)
    assert.ok(all.some(sc => sc.status === 'ready' && sc.spki_pin === opensslSpkiPin(signed.certFile)))
    const html = await page.content()
    assert.ok(!html.includes(keyLine) && !html.includes('s3cret-phrase'))
    assert.doesNotMatch(harness.gateway.logs.text(), /s3cret-phrase/)
  })

  it('serves the page under the strict CSP with no inline script, style or handler, and the browser reports no violation', async () => {
    await assertCspClean(page, `${harness.consoleUrl}/orgs/acme/server-certs`)
  })

  it('offers a viewer no change, and answers an org-admin of demo the 403 with its code for acme\'s page', async () => {
    const viewer = await harness.newPage()
    await harness.signIn(viewer, await harness.createOperator('acme-viewer', 'viewer', ['acme']))
    assert.equal((await viewer.goto(`${harness.consoleUrl}/orgs/acme/server-certs`))?.status(), 200)
    assert.ok(await viewer.$('#pin-active'), 'the pins are shown')
    for (const control of ['#csr-form', '#upload-form', 'form[action$="/activate"]']) assert.equal(await viewer.$(control), null, control)
    await viewer.browserContext().close()

    const other = await harness.newPage()
    await harness.signIn(other, await harness.createOperator('demo-admin', 'org-admin', ['demo']))
    assert.equal((await other.goto(`${harness.consoleUrl}/orgs/demo/server-certs`))?.status(), 200)
    const refused = await other.goto(`${harness.consoleUrl}/orgs/acme/server-certs`)
    assert.equal(refused?.status(), 403)
    assert.match(await other.$eval('.refusal', e => e.textContent ?? ''), /ADMIN_ERR_FORBIDDEN_ORG/)
    await other.browserContext().close()
  })
})
