import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import type { Page } from 'puppeteer-core'
import { startConsoleHarness, type ConsoleHarness } from '../support/console-browser.js'
import { openssl, opensslCa, opensslCrl, type OpensslCa } from '../support/openssl.js'
import { makeTempDir } from '../support/temp-dir.js'

// What the functions run in the page use (the project compiles without the DOM library).
declare const document: any
declare const DataTransfer: any
declare const DragEvent: any
declare const File: any
declare const Event: any

/**
 * The CAs page in a real Chromium: a CA file made by an operator with
 * `openssl req -x509` dragged onto the page, previewed (nothing saved yet),
 * saved with a description, then disabled, enabled, given a CRL, removed; a
 * file that holds the CA's private key refused with the API's code and
 * message, and the key shown nowhere.
 */
describe('web console: an organisation\'s CAs', function () {
  this.timeout(120_000)
  let harness: ConsoleHarness
  let temp: { dir: string, remove: () => Promise<void> }
  let ca: OpensslCa
  let page: Page

  before(async () => {
    temp = await makeTempDir('console-cas')
    ca = opensslCa(temp.dir, 'operator-ca')
    harness = await startConsoleHarness({ orgs: ['acme'] })
    page = await harness.newPage()
    page.on('dialog', dialog => { void dialog.accept() })
    await harness.signIn(page, harness.gateway.admin.token)
  })
  after(async () => {
    await harness?.close()
    await temp?.remove()
  })

  const uploadedCas = async (): Promise<any[]> => (await harness.adminCall('GET', '/orgs/acme/cas')).body.cas.filter((c: any) => c.kind === 'uploaded')
  const rowOf = async (subjectCn: string): Promise<string> => await page.$$eval('tbody tr', (rows, cn) => rows.map(r => r.textContent ?? '').find(t => t.includes(cn)) ?? '', subjectCn)

  it('previews a dragged CA file without saving it, then saves it with its description', async () => {
    await page.goto(`${harness.consoleUrl}/orgs/acme/cas`)
    await dropFile(page, '.dropzone', 'operator-ca.crt', ca.certPem)
    await page.waitForSelector('#ca-preview .ok')
    const preview = await page.$eval('#ca-preview', e => e.textContent ?? '')
    const fingerprint = openssl(['x509', '-in', ca.certFile, '-noout', '-fingerprint', '-sha256']).trim().replace(/^.*=/, '').replace(/:/g, '').toLowerCase()
    assert.ok(preview.includes('CN=operator-ca'), preview)
    assert.ok(preview.includes('rsa 2048'), preview)
    assert.ok(preview.includes(fingerprint), preview)
    assert.ok(preview.includes('yes (basicConstraints CA:TRUE)'), preview)
    assert.ok(preview.includes('(self-signed)'), preview)
    assert.deepEqual(await uploadedCas(), [], 'the preview saved the CA')
    await harness.screenshot(page, 'cas-preview')

    await page.type('#ca-description', 'Fleet 2026 devices')
    await page.click('#ca-form button[type=submit]:not(#ca-preview-button)')
    await page.waitForFunction(() => document.querySelector('tbody')?.textContent?.includes('Fleet 2026 devices') === true)
    const saved = await uploadedCas()
    assert.deepEqual(saved.map(c => [c.fingerprint_sha256, c.description, c.enabled]), [[fingerprint, 'Fleet 2026 devices', true]])
    assert.ok((await rowOf('operator-ca')).includes('none loaded'))
    await harness.screenshot(page, 'cas')
  })

  it('lists what would refuse a file in its preview: the same CA again', async () => {
    await dropFile(page, '.dropzone', 'again.crt', ca.certPem)
    await page.waitForFunction(() => document.querySelector('#ca-preview')?.textContent?.includes('CERTS_ERR_CA_EXISTS') === true)
  })

  it('refuses a CA file that holds its private key with the code and message the CLI prints, and shows no key', async () => {
    const bundle = ca.certPem + readFileSync(ca.keyFile, 'utf8')
    const api = await harness.adminCall('POST', '/orgs/acme/cas', { certificate: bundle })
    assert.equal(api.body.error.code, 'CERTS_ERR_CA_KEY_INCLUDED')
    const keyLine = readFileSync(ca.keyFile, 'utf8').split('\n')[1]
    const sent: string[] = []
    page.on('request', request => sent.push(request.postData() ?? ''))
    await page.goto(`${harness.consoleUrl}/orgs/acme/cas`)
    await dropFile(page, '.dropzone', 'bundle.pem', bundle)
    await page.waitForSelector('#ca-preview .refusal')
    const shown = await page.$eval('#ca-preview .refusal', e => e.textContent?.replace(/\s+/g, ' ').trim())
    assert.equal(shown, `CERTS_ERR_CA_KEY_INCLUDED ${api.body.error.message as string}`)
    // Saving anyway is refused the same way; the page never holds the key.
    await page.click('#ca-form button[type=submit]:not(#ca-preview-button)')
    await page.waitForSelector('main > .refusal')
    assert.match(await page.$eval('main > .refusal', e => e.textContent ?? ''), /CERTS_ERR_CA_KEY_INCLUDED/)
    assert.ok(!(await page.content()).includes(keyLine), 'the page shows the key')
    // Like `mqgate ca add`, the console sends the key's PEM label only, never the key.
    assert.ok(sent.some(body => body.includes('PRIVATE%20KEY') || body.includes('PRIVATE+KEY')), 'the label was sent')
    assert.ok(sent.every(body => !body.includes(encodeURIComponent(keyLine).slice(0, 40)) && !body.includes(keyLine.slice(0, 40))), 'the key was sent')
    // Pasted, the key is taken out of the field at once.
    await page.$eval('#ca-certificate-pem', (field: any, text) => {
      field.value = text
      field.dispatchEvent(new Event('input', { bubbles: true }))
    }, bundle)
    assert.ok(!(await page.$eval('#ca-certificate-pem', (field: any) => field.value as string)).includes(keyLine))
    assert.equal((await uploadedCas()).length, 1)
  })

  it('disables, enables, loads a CRL (its age and next update shown) and removes the CA', async () => {
    await page.goto(`${harness.consoleUrl}/orgs/acme/cas`)
    const [{ id }] = await uploadedCas()
    await Promise.all([page.waitForFunction(() => document.querySelector('tbody')?.textContent?.includes('disabled') === true), page.click(`#ca-${id as string} form[action$="/disable"] button`)])
    assert.equal((await uploadedCas())[0].enabled, false)
    await Promise.all([page.waitForFunction(() => document.querySelector('tbody')?.textContent?.includes('disabled') === false), page.click(`#ca-${id as string} form[action$="/enable"] button`)])
    assert.equal((await uploadedCas())[0].enabled, true)

    const { crlFile } = opensslCrl(ca, ['1A2B'], 'DER')
    await page.click(`#ca-${id as string} summary`)
    const picker = await page.$(`#crl-pick-${id as string}`)
    await picker?.uploadFile(crlFile)
    await page.waitForFunction(crlId => document.getElementById(crlId)?.value !== '', {}, `crl-file-${id as string}`)
    await Promise.all([page.waitForFunction(() => document.querySelector('tbody')?.textContent?.includes('1 revoked') === true), page.click(`#ca-${id as string} form.crl button`)])
    const row = (await rowOf('operator-ca')).replace(/\s+/g, ' ')
    assert.match(row, /issued \d+ s ago, next update in 30 d, 1 revoked/)
    assert.equal((await uploadedCas())[0].crl.revoked_serials, 1)

    await Promise.all([page.waitForFunction(() => document.querySelector('tbody')?.textContent?.includes('operator-ca') === false), page.click(`#ca-${id as string} form[action$="/remove"] button`)])
    assert.deepEqual(await uploadedCas(), [])
    assert.ok(harness.gateway.logs.find(l => l.event === 'audit' && l.action === 'ca.remove' && String(l.actor).startsWith('console@')))
  })
})

/** What a person dragging a file from the desktop onto the zone does, as the page sees it: dragover, then drop with the file. */
async function dropFile (page: Page, selector: string, name: string, content: string): Promise<void> {
  await page.$eval(selector, (zone, fileName, text) => {
    const data = new DataTransfer()
    data.items.add(new File([text], fileName, { type: 'application/x-pem-file' }))
    zone.dispatchEvent(new DragEvent('dragover', { bubbles: true, cancelable: true, dataTransfer: data }))
    zone.dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: data }))
  }, name, content)
}
