import assert from 'node:assert/strict'
import type { HTTPResponse, Page } from 'puppeteer-core'
import { startConsoleHarness, type ConsoleHarness } from '../support/console-browser.js'

declare const document: any

/**
 * The console password in a real Chromium: an operator signed in with its
 * token sets a password on its account page, signs out, signs in with its
 * name and password, is refused a wrong one with the token's code and
 * message; the password session ends when the password is cleared or the
 * operator revoked, and outlives a token rotation.
 */
describe('web console: an operator\'s password', function () {
  this.timeout(120_000)
  const password = 'purple monkey dishwasher'
  let harness: ConsoleHarness
  let token: string

  before(async () => {
    harness = await startConsoleHarness({ orgs: ['acme', 'demo'] })
    token = await harness.createOperator('pat', 'org-admin', ['acme'])
  })
  after(async () => await harness?.close())

  const submit = async (page: Page, selector: string): Promise<HTTPResponse | null> => {
    const [response] = await Promise.all([page.waitForNavigation(), page.click(`${selector} button[type=submit]`)])
    return response
  }
  const fill = async (page: Page, fields: Record<string, string>): Promise<void> => {
    for (const [selector, value] of Object.entries(fields)) await page.$eval(selector, (e, v) => { (e as any).value = v }, value)
  }
  /** A form of a signed-in page is sent by htmx (hx-boost): clicked, then waited for until the answer replaced the page's main. */
  const swap = async (page: Page, form: string, clicked = `${form} button[type=submit]`): Promise<void> => {
    await page.$eval('main', e => e.setAttribute('data-old', ''))
    await Promise.all([page.waitForFunction(() => document.querySelector('main') !== null && document.querySelector('main[data-old]') === null), page.click(clicked)])
  }
  const setPassword = async (page: Page, value: string, again = value): Promise<void> => {
    await page.goto(`${harness.consoleUrl}/account`)
    await fill(page, { '#new-password': value, '#confirm-password': again })
    await swap(page, '#password-form')
  }
  const signInShown = async (page: Page): Promise<boolean> => await page.$('form.sign-in-password') !== null
  const passwordSignIn = async (page: Page, name: string, value: string): Promise<HTTPResponse | null> => {
    await page.goto(`${harness.consoleUrl}/sign-in`)
    await fill(page, { '#name': name, '#password': value })
    return await submit(page, 'form.sign-in-password')
  }
  const refusalText = async (page: Page): Promise<string> => await page.$eval('.refusal', e => e.textContent ?? '')
  const pathOf = (page: Page): string => new URL(page.url()).pathname

  it('sets a password on the account page, refusing a mismatch and a short one with their codes', async () => {
    const page = await harness.newPage()
    await harness.signIn(page, token)
    await page.goto(`${harness.consoleUrl}/orgs`)
    await swap(page, 'header', 'a[href="/console/account"]')
    assert.match(await page.$eval('#password-state', e => e.textContent ?? ''), /No password/)
    await setPassword(page, password, password + '!')
    assert.match(await refusalText(page), /ADMIN_ERR_PASSWORD_MISMATCH/)
    await setPassword(page, 'too short')
    assert.match(await refusalText(page), /ADMIN_ERR_PASSWORD_WEAK/)
    assert.equal((await harness.adminCall('GET', '/operators')).body.operators.find((o: any) => o.name === 'pat').password_set, false)
    await setPassword(page, password)
    assert.equal(await page.$('.refusal'), null)
    assert.match(await page.$eval('#password-state', e => e.textContent ?? ''), /A password is set/)
    await harness.screenshot(page, 'account')
    await page.browserContext().close()
  })

  it('signs in with name and password after signing out, and refuses a wrong password or an unknown name alike', async () => {
    const page = await harness.newPage()
    await harness.signIn(page, token)
    await swap(page, 'form.sign-out')
    assert.ok(await signInShown(page))
    const failedBefore = harness.gateway.logs.lines.filter(l => l.event === 'console.sign-in-failed').length
    const wrong = await passwordSignIn(page, 'pat', 'purple monkey dishwasheR')
    assert.equal(wrong?.status(), 401)
    const wrongText = await refusalText(page)
    assert.match(wrongText, /ADMIN_ERR_UNAUTHORIZED/)
    const unknown = await passwordSignIn(page, 'nobody-here', password)
    assert.equal(unknown?.status(), 401)
    assert.equal(await refusalText(page), wrongText, 'an unknown name is answered as a wrong password')
    const failed = harness.gateway.logs.lines.filter(l => l.event === 'console.sign-in-failed').slice(failedBefore)
    assert.deepEqual(failed.map(l => [l.code, l.method]), [['ADMIN_ERR_UNAUTHORIZED', 'password'], ['ADMIN_ERR_UNAUTHORIZED', 'password']])
    const signedIn = await passwordSignIn(page, 'pat', password)
    assert.equal(signedIn?.status(), 200)
    assert.equal(pathOf(page), '/console/orgs')
    assert.deepEqual(await page.$$eval('tbody th[scope=row]', cells => cells.map(c => c.textContent?.trim())), ['acme'])
    assert.ok(harness.gateway.logs.find(l => l.event === 'console.signed-in' && l.operator === 'pat' && l.method === 'password'))
    await page.browserContext().close()
  })

  it('keeps a password session through a token rotation, and ends it when the operator is revoked', async () => {
    const page = await harness.newPage()
    await passwordSignIn(page, 'pat', password)
    const rotated = await harness.adminCall('POST', '/operators/pat/rotate')
    assert.equal(rotated.status, 200)
    token = rotated.body.token
    assert.equal((await page.goto(`${harness.consoleUrl}/orgs`))?.status(), 200)
    assert.equal(pathOf(page), '/console/orgs')
    // Another operator, to revoke: its password session ends at its next request.
    const other = await harness.createOperator('quinn', 'viewer', ['acme'])
    const quinn = await harness.newPage()
    await harness.signIn(quinn, other)
    await setPassword(quinn, password)
    const quinnByPassword = await harness.newPage()
    assert.equal((await passwordSignIn(quinnByPassword, 'quinn', password))?.status(), 200)
    assert.equal((await harness.adminCall('DELETE', '/operators/quinn')).status, 200)
    await quinnByPassword.goto(`${harness.consoleUrl}/orgs`)
    assert.equal(pathOf(quinnByPassword), '/console/sign-in')
    assert.equal((await passwordSignIn(quinnByPassword, 'quinn', password))?.status(), 401)
    for (const p of [page, quinn, quinnByPassword]) await p.browserContext().close()
  })

  it('ends the other password sessions when the password changes, keeps the one that changed it, and ends it when cleared', async () => {
    const changer = await harness.newPage()
    const other = await harness.newPage()
    const byToken = await harness.newPage()
    await passwordSignIn(changer, 'pat', password)
    await passwordSignIn(other, 'pat', password)
    await harness.signIn(byToken, token)
    const renewed = 'a different long passphrase'
    await setPassword(changer, renewed)
    assert.match(await changer.$eval('#password-state', e => e.textContent ?? ''), /A password is set/, 'the session that changed it goes on')
    await other.goto(`${harness.consoleUrl}/orgs`)
    assert.equal(pathOf(other), '/console/sign-in', 'a session of the old password ended')
    assert.equal((await passwordSignIn(other, 'pat', password))?.status(), 401)
    // Clearing it from the password session signs that session out; the token's session is not the password's.
    await changer.goto(`${harness.consoleUrl}/account`)
    await swap(changer, '#clear-password-form')
    assert.ok(await signInShown(changer))
    await changer.goto(`${harness.consoleUrl}/orgs`)
    assert.equal(pathOf(changer), '/console/sign-in')
    assert.equal((await byToken.goto(`${harness.consoleUrl}/orgs`))?.status(), 200)
    assert.equal(pathOf(byToken), '/console/orgs')
    assert.equal((await passwordSignIn(other, 'pat', renewed))?.status(), 401)
    for (const p of [changer, other, byToken]) await p.browserContext().close()
  })

  it('writes no password nor hash into any log line', () => {
    const text = harness.gateway.logs.text()
    for (const secret of [password, 'a different long passphrase', 'purple monkey dishwasheR', 'scrypt$']) assert.ok(!text.includes(secret), `a log line holds ${secret}`)
  })
})
