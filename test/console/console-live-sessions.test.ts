import assert from 'node:assert/strict'
import type { MqttClient } from 'mqtt'
import type { Page } from 'puppeteer-core'
import { startConsoleHarness, type ConsoleHarness } from '../support/console-browser.js'
import { closed, connect, endAll, type ClientSpec } from '../support/mqtt-client.js'
import { adminRequest, type HttpAnswer } from '../support/stack.js'
import type { TestCert } from '../support/pki.js'

/**
 * The live sessions page in a real Chromium: a device connected with mqtt.js
 * is listed (identity, clientId, address, transport); revoking its
 * certificate closes it and the polled list drops it; Disconnect closes
 * another; an org-admin of another organisation gets the 403 with its code.
 * Then the audit log page: the revoke with the operator's name, and its
 * filters by operator, action and time.
 */
describe('web console: an organisation\'s live sessions and audit log', function () {
  this.timeout(120_000)
  let harness: ConsoleHarness
  let page: Page
  let operatorToken: string
  const clients: MqttClient[] = []

  before(async () => {
    harness = await startConsoleHarness({ orgs: ['acme', 'demo'] })
    operatorToken = await harness.createOperator('alice', 'org-admin', ['acme'])
    page = await harness.newPage()
    page.on('dialog', dialog => { void dialog.accept() })
    await harness.signIn(page, operatorToken)
  })
  after(async () => {
    await endAll(...clients)
    await harness?.close()
  })

  const asOperator = async (token: string, method: string, route: string, body?: unknown): Promise<HttpAnswer> =>
    await adminRequest(harness.gateway.admin.port, harness.gateway.admin.caPem, token, method, route, body)
  /** A device certificate issued on the record (so it can be revoked), and a live mqtt.js session with it. */
  const connectDevice = async (cn: string, clientId: string): Promise<{ client: MqttClient, serial: string }> => {
    const issued = await harness.adminCall('POST', '/orgs/acme/certs', { cn })
    assert.equal(issued.status, 201, issued.text)
    const cert: TestCert = { certPem: issued.body.certificate, keyPem: issued.body.private_key }
    const spec: ClientSpec = { port: harness.gateway.port, servername: harness.gateway.serverName('acme'), caPem: harness.gateway.caOf('acme'), cert, clientId }
    const client = await connect(spec)
    clients.push(client)
    return { client, serial: issued.body.serial_number }
  }
  const listed = async (): Promise<string[]> => await page.$$eval('#live-sessions tr.session', rows => rows.map(r => r.getAttribute('data-client-id') ?? ''))
  const waitListed = async (clientId: string, present: boolean): Promise<void> => {
    await page.waitForFunction((id: string, want: boolean) => ((globalThis as any).document.querySelector(`#live-sessions tr[data-client-id="${id}"]`) !== null) === want, { timeout: 10_000 }, clientId, present)
  }

  it('lists a connected device with its identity, clientId, address and transport', async () => {
    await connectDevice('d:sensor:one', 'd:acme:sensor:one')
    await page.goto(`${harness.consoleUrl}/orgs/acme/sessions`)
    assert.deepEqual(await listed(), ['d:acme:sensor:one'])
    const row = await page.$eval('#live-sessions tr.session', r => r.textContent ?? '')
    assert.match(row, /d:sensor:one/)
    assert.match(row, /127\.0\.0\.1/)
    assert.match(row, /\btls\b/)
  })

  it('says on the device certificates page which certificate is connected now', async () => {
    const offline = await harness.adminCall('POST', '/orgs/acme/certs', { cn: 'd:sensor:offline' })
    assert.equal(offline.status, 201, offline.text)
    await page.goto(`${harness.consoleUrl}/orgs/acme/device-certs`)
    const connectedOf = async (cn: string): Promise<string> => await page.$eval(`xpath///tr[th//span[@class="subject" and text()="${cn}"]]/td[@class="connected"]`, td => (td.textContent ?? '').trim())
    assert.equal(await connectedOf('d:sensor:one'), 'yes')
    assert.equal(await connectedOf('d:sensor:offline'), 'no')
    // The tests below watch the sessions page.
    await page.goto(`${harness.consoleUrl}/orgs/acme/sessions`)
  })

  it('drops the session from the list when the operator revokes its certificate, and the client is disconnected', async () => {
    const { client, serial } = await connectDevice('d:sensor:two', 'd:acme:sensor:two')
    // The page polls its table: the new session appears without a reload.
    await waitListed('d:acme:sensor:two', true)
    await harness.screenshot(page, 'sessions')
    const revoked = await asOperator(operatorToken, 'POST', `/orgs/acme/certs/${serial}/revoke`)
    assert.equal(revoked.status, 200, revoked.text)
    assert.equal(await closed(client, 2000), true)
    await waitListed('d:acme:sensor:two', false)
    assert.deepEqual(await listed(), ['d:acme:sensor:one'])
  })

  it('disconnects a session with the Disconnect button', async () => {
    const one = clients[0]
    await page.goto(`${harness.consoleUrl}/orgs/acme/sessions`)
    await Promise.all([page.waitForResponse(r => r.url().endsWith('/sessions') && r.request().method() === 'GET'), page.click('#live-sessions tr[data-client-id="d:acme:sensor:one"] button')])
    assert.equal(await closed(one, 2000), true)
    await waitListed('d:acme:sensor:one', false)
    const { body } = await harness.adminCall('GET', '/orgs/acme/sessions')
    assert.deepEqual(body.sessions, [])
  })

  it('refuses an org-admin of another organisation: the API and the page answer 403 ADMIN_ERR_FORBIDDEN_ORG', async () => {
    await connectDevice('d:sensor:three', 'd:acme:sensor:three')
    const stranger = await harness.createOperator('bob', 'org-admin', ['demo'])
    const api = await asOperator(stranger, 'GET', '/orgs/acme/sessions')
    assert.equal(api.status, 403)
    assert.equal(api.body.error.code, 'ADMIN_ERR_FORBIDDEN_ORG')
    const other = await harness.newPage()
    await harness.signIn(other, stranger)
    const refused = await other.goto(`${harness.consoleUrl}/orgs/acme/sessions`)
    assert.equal(refused?.status(), 403)
    assert.match(await other.$eval('.refusal', e => e.textContent ?? ''), /ADMIN_ERR_FORBIDDEN_ORG/)
    assert.equal(await other.$('#live-sessions'), null)
    await other.browserContext().close()
  })

  it('shows a viewer the list without Disconnect, and refuses its forged disconnect with ADMIN_ERR_FORBIDDEN_ROLE', async () => {
    const viewer = await harness.newPage()
    await harness.signIn(viewer, await harness.createOperator('victor', 'viewer', ['acme']))
    await viewer.goto(`${harness.consoleUrl}/orgs/acme/sessions`)
    assert.deepEqual(await viewer.$$eval('#live-sessions tr.session', rows => rows.map(r => r.getAttribute('data-client-id'))), ['d:acme:sensor:three'])
    assert.equal(await viewer.$('#live-sessions button'), null)
    const forged = await viewer.evaluate(async (url: string) => {
      const csrf = (globalThis as any).document.querySelector('input[name=_csrf]').value as string
      const answer = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `_csrf=${encodeURIComponent(csrf)}` })
      return { status: answer.status, text: await answer.text() }
    }, `${harness.consoleUrl}/orgs/acme/sessions/d%3Aacme%3Asensor%3Athree/disconnect`)
    assert.equal(forged.status, 403)
    assert.match(forged.text, /ADMIN_ERR_FORBIDDEN_ROLE/)
    assert.deepEqual((await harness.adminCall('GET', '/orgs/acme/sessions')).body.sessions.map((s: any) => s.clientId), ['d:acme:sensor:three'])
    await viewer.browserContext().close()
  })

  it('shows the revoke on the audit page with the operator\'s name, and filters by operator, action and time', async () => {
    const rows = async (query: string): Promise<Array<{ operator: string, action: string, details: string }>> => {
      await page.goto(`${harness.consoleUrl}/orgs/acme/audit${query}`)
      return await page.$$eval('#audit tr.entry', trs => trs.map(tr => {
        const cells = [...tr.querySelectorAll('td')].map(td => td.textContent ?? '')
        return { operator: cells[1], action: cells[2], details: cells[3] }
      }))
    }
    const all = await rows('')
    const revoke = all.find(r => r.action === 'cert.revoke')
    assert.equal(revoke?.operator, 'alice')
    assert.match(revoke?.details ?? '', /commonName=d:sensor:two/)
    assert.ok(all.some(r => r.action === 'cert.issue' && r.operator === 'admin'), JSON.stringify(all))
    assert.ok(all.some(r => r.action === 'session.disconnect' && r.operator === 'alice' && r.details.includes('d:acme:sensor:one')), JSON.stringify(all))
    await harness.screenshot(page, 'audit')

    // The form, as an operator uses it: operator alice only.
    await page.goto(`${harness.consoleUrl}/orgs/acme/audit`)
    await page.type('#audit-operator', 'alice')
    await Promise.all([page.waitForNavigation(), page.click('form.filters button[type=submit]')])
    const alices = await page.$$eval('#audit tr.entry', trs => trs.map(tr => tr.querySelectorAll('td')[1].textContent ?? ''))
    assert.ok(alices.length >= 2)
    assert.deepEqual([...new Set(alices)], ['alice'])

    assert.deepEqual((await rows('?action=cert.revoke')).map(r => r.action), ['cert.revoke'])
    const certs = await rows('?action=cert')
    assert.deepEqual([...new Set(certs.map(r => r.action))].sort(), ['cert.issue', 'cert.revoke'])
    assert.deepEqual(await rows(`?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`), [])
    assert.ok((await rows('?since=60m')).length === all.length)
    await rows('?since=yesterday')
    assert.match(await page.$eval('.refusal', e => e.textContent ?? ''), /ADMIN_ERR_BAD_REQUEST/)
  })
})
