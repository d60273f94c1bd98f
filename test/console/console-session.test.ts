import assert from 'node:assert/strict'
import type { HTTPResponse } from 'puppeteer-core'
import { startConsoleHarness, type ConsoleHarness } from '../support/console-browser.js'
import { consoleRequest, consoleSignIn, sessionCookieOf } from '../support/console-http.js'

/**
 * The console's sign-in and session in a real Chromium: an operator token in,
 * a cookie out (HttpOnly, Secure, SameSite=Strict, Path=/console), a wrong
 * token refused and slowed, every page under a strict CSP with no inline
 * script or style, a change without its CSRF token refused, an org-admin kept
 * out of another organisation's pages, sign-out.
 */
describe('web console: sign-in, session, headers', function () {
  this.timeout(120_000)
  let harness: ConsoleHarness

  before(async () => { harness = await startConsoleHarness({ orgs: ['acme', 'demo'] }) })
  after(async () => await harness?.close())

  it('signs in with the bootstrap token and lists every organisation', async () => {
    const page = await harness.newPage()
    await page.goto(`${harness.consoleUrl}/sign-in`)
    await harness.screenshot(page, 'sign-in')
    const response = await harness.signIn(page, harness.gateway.admin.token)
    assert.equal(response?.status(), 200)
    assert.equal(new URL(page.url()).pathname, '/console/orgs')
    assert.deepEqual(await page.$$eval('tbody th[scope=row]', cells => cells.map(c => c.textContent?.trim())), ['acme', 'demo'])
    await harness.screenshot(page, 'organisations')
    await page.browserContext().close()
  })

  it('refuses a wrong token with its code, and answers each further failure from the address later', async () => {
    const page = await harness.newPage()
    const times: number[] = []
    for (let attempt = 0; attempt < 3; attempt++) {
      await page.goto(`${harness.consoleUrl}/sign-in`)
      await page.$eval('#token', (e, v) => { (e as any).value = v }, `mqg_0123456789abcdef_${'x'.repeat(43)}`)
      const started = Date.now()
      const [response] = await Promise.all([page.waitForNavigation(), page.click('form.sign-in button[type=submit]')])
      times.push(Date.now() - started)
      assert.equal(response?.status(), 401)
      assert.match(await page.$eval('.refusal', e => e.textContent ?? ''), /ADMIN_ERR_UNAUTHORIZED/)
    }
    // 250, 500, 1000 ms (sign-in-throttle.ts), counted in a log line with the code.
    assert.ok(times[0] >= 250 && times[1] >= 500 && times[2] >= 1000, `failures answered after ${times.join(', ')} ms`)
    const counted = harness.gateway.logs.lines.filter(l => l.event === 'console.sign-in-failed')
    assert.deepEqual(counted.map(l => [l.code, l.failures, l.delayMs]), [['ADMIN_ERR_UNAUTHORIZED', 1, 250], ['ADMIN_ERR_UNAUTHORIZED', 2, 500], ['ADMIN_ERR_UNAUTHORIZED', 3, 1000]])
    assert.ok(harness.gateway.logs.lines.every(l => !JSON.stringify(l).includes('x'.repeat(43))), 'the presented token is in a log line')
    // The refusal does not sign in, and a right token afterwards still does.
    assert.equal((await harness.signIn(page, harness.gateway.admin.token))?.status(), 200)
    await page.browserContext().close()
  })

  it('sets the session cookie HttpOnly, Secure, SameSite=Strict, Path=/console, expiring when idle', async () => {
    const page = await harness.newPage()
    await harness.signIn(page, harness.gateway.admin.token)
    const cookie = (await page.cookies()).find(c => c.name === 'mqgate_console')
    assert.ok(cookie !== undefined)
    assert.equal(cookie.httpOnly, true)
    assert.equal(cookie.secure, true)
    assert.equal(cookie.sameSite, 'Strict')
    assert.equal(cookie.path, '/console')
    assert.equal(cookie.session, false)
    // The raw header, as the server sent it: Max-Age is the idle time (30 min by default).
    const raw = await consoleSignIn(harness.gateway.admin.port, harness.gateway.admin.caPem, harness.gateway.admin.token)
    const setCookie = raw.find(c => c.startsWith('mqgate_console='))
    assert.match(setCookie ?? '', /; Max-Age=1800; Path=\/console; HttpOnly; Secure; SameSite=Strict$/)
    // Signing in again makes a new session and ends the one the browser had.
    const { port, caPem, token } = harness.gateway.admin
    const first = sessionCookieOf(raw)
    const second = sessionCookieOf(await consoleSignIn(port, caPem, token, first))
    assert.notEqual(second, first)
    assert.equal((await consoleRequest(port, caPem, 'GET', '/console/orgs', { cookie: second })).status, 200)
    assert.equal((await consoleRequest(port, caPem, 'GET', '/console/orgs', { cookie: first })).status, 303)
    await page.browserContext().close()
  })

  it('answers every page with a strict CSP and no inline script or style, and the browser reports no violation', async () => {
    const page = await harness.newPage()
    const violations: string[] = []
    page.on('console', message => { if (/Content.Security.Policy|Refused to/i.test(message.text())) violations.push(message.text()) })
    const check = async (url: string, answer: HTTPResponse | null): Promise<void> => {
      assert.ok(answer !== null)
      const csp = answer.headers()['content-security-policy'] ?? ''
      for (const directive of ["script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self'", "default-src 'none'"]) assert.ok(csp.includes(directive), `${url}: ${csp}`)
      assert.equal(answer.headers()['x-frame-options'], 'DENY')
      assert.equal(answer.headers()['x-content-type-options'], 'nosniff')
      assert.equal(answer.headers()['referrer-policy'], 'no-referrer')
      const html = await answer.text()
      assert.ok(html.includes('<script src='), `${url} loads no script`)
      assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/, `${url} has an inline script`)
      assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i, `${url} has an inline style or handler`)
      // The browser ran htmx and console.js here: one adding a style element or attribute would be reported.
      await page.waitForFunction('window.htmx !== undefined')
    }
    await check('/sign-in', await page.goto(`${harness.consoleUrl}/sign-in`))
    await harness.signIn(page, harness.gateway.admin.token)
    let pages = 1
    for (const url of ['/orgs', '/orgs/acme/cas', '/orgs/no-such-org/cas', '/no-such-page']) {
      await check(url, await page.goto(harness.consoleUrl + url))
      pages++
    }
    assert.equal(pages, 5)
    // The last two are the console's error pages, with the code.
    assert.match(await page.$eval('.refusal', e => e.textContent ?? ''), /ADMIN_ERR_NOT_FOUND/)
    assert.deepEqual(violations, [])
    await page.browserContext().close()
  })

  it('refuses a change without the session\'s CSRF token, and makes it with the token', async () => {
    const page = await harness.newPage()
    await harness.signIn(page, harness.gateway.admin.token)
    await page.goto(`${harness.consoleUrl}/orgs`)
    const post = async (headers: Record<string, string>, body: string): Promise<{ status: number, text: string }> => await page.evaluate(async (h, b) => {
      const answer = await fetch('/console/sign-out', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...h }, body: b, redirect: 'manual' })
      return { status: answer.status, text: await answer.text() }
    }, headers, body)
    const refused = await post({}, '')
    assert.equal(refused.status, 403)
    assert.match(refused.text, /ADMIN_ERR_CSRF/)
    assert.equal((await post({}, '_csrf=not-the-token')).status, 403)
    assert.ok(harness.gateway.logs.find(l => l.event === 'console.csrf-refused' && l.code === 'ADMIN_ERR_CSRF'))
    // Still signed in: the refused sign-out did nothing.
    assert.equal((await page.goto(`${harness.consoleUrl}/orgs`))?.status(), 200)
    const token = await page.$eval('input[name=_csrf]', e => (e as any).value)
    assert.equal((await post({}, `_csrf=${encodeURIComponent(token)}`)).status, 0, 'the sign-out redirect (opaque to a manual fetch)')
    // Signed out: the cookie's session is gone on the server.
    await page.goto(`${harness.consoleUrl}/orgs`)
    assert.equal(new URL(page.url()).pathname, '/console/sign-in')
    await page.browserContext().close()
  })

  it('keeps an org-admin of acme to acme: the list shows acme only, demo\'s page by URL is a 403 with the code', async () => {
    const token = await harness.createOperator('acme-admin', 'org-admin', ['acme'])
    const page = await harness.newPage()
    await harness.signIn(page, token)
    assert.deepEqual(await page.$$eval('tbody th[scope=row]', cells => cells.map(c => c.textContent?.trim())), ['acme'])
    assert.equal((await page.goto(`${harness.consoleUrl}/orgs/acme/cas`))?.status(), 200)
    const refused = await page.goto(`${harness.consoleUrl}/orgs/demo/cas`)
    assert.equal(refused?.status(), 403)
    assert.match(await page.$eval('.refusal', e => e.textContent ?? ''), /ADMIN_ERR_FORBIDDEN_ORG/)
    assert.ok(harness.gateway.logs.find(l => l.event === 'admin.forbidden' && l.operator === 'acme-admin' && l.url === '/orgs/demo'))
    // A change by URL is refused the same way (the page's POST is the API's POST, as this operator).
    const token2 = await page.$eval('input[name=_csrf]', e => (e as any).value)
    const changed = await page.evaluate(async csrf => {
      const answer = await fetch('/console/orgs/demo/cas', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `_csrf=${encodeURIComponent(csrf)}&certificate_pem=x` })
      return { status: answer.status, text: await answer.text() }
    }, token2)
    assert.equal(changed.status, 403)
    assert.match(changed.text, /ADMIN_ERR_FORBIDDEN_ORG/)
    await page.browserContext().close()
  })

  it('shows a viewer its organisation\'s CAs without the changes, and refuses a change by URL with the role\'s code', async () => {
    const token = await harness.createOperator('acme-viewer', 'viewer', ['acme'])
    const page = await harness.newPage()
    await harness.signIn(page, token)
    assert.equal((await page.goto(`${harness.consoleUrl}/orgs/acme/cas`))?.status(), 200)
    assert.equal(await page.$('#ca-form'), null)
    const csrf = await page.$eval('input[name=_csrf]', e => (e as any).value)
    const changed = await page.evaluate(async token => {
      const answer = await fetch('/console/orgs/acme/cas/preview', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `_csrf=${encodeURIComponent(token)}&certificate_pem=x` })
      return { status: answer.status, text: await answer.text() }
    }, csrf)
    assert.equal(changed.status, 403)
    assert.match(changed.text, /ADMIN_ERR_FORBIDDEN_ROLE/)
    await page.browserContext().close()
  })

  it('ends the session of an operator whose token is revoked', async () => {
    const token = await harness.createOperator('short-lived', 'viewer', ['acme'])
    const page = await harness.newPage()
    await harness.signIn(page, token)
    assert.equal(new URL(page.url()).pathname, '/console/orgs')
    assert.equal((await harness.adminCall('DELETE', '/operators/short-lived')).status, 200)
    await page.goto(`${harness.consoleUrl}/orgs`)
    assert.equal(new URL(page.url()).pathname, '/console/sign-in')
    await page.browserContext().close()
  })
})
