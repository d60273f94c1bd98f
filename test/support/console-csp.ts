import assert from 'node:assert/strict'
import type { Page } from 'puppeteer-core'

/**
 * Loads `url` in `page` and checks what console-session.test.ts checks of every page: the strict
 * Content-Security-Policy and its companion headers, no inline script, style or handler in the
 * HTML, and no violation the browser reported while htmx and console.js ran there.
 */
export async function assertCspClean (page: Page, url: string): Promise<void> {
  const violations: string[] = []
  const listener = (message: { text: () => string }): void => { if (/Content.Security.Policy|Refused to/i.test(message.text())) violations.push(message.text()) }
  page.on('console', listener)
  try {
    const answer = await page.goto(url)
    assert.ok(answer !== null)
    const csp = answer.headers()['content-security-policy'] ?? ''
    for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self'"]) assert.ok(csp.includes(directive), `${url}: ${csp}`)
    assert.equal(answer.headers()['x-frame-options'], 'DENY')
    assert.equal(answer.headers()['x-content-type-options'], 'nosniff')
    const html = await answer.text()
    assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/, `${url} has an inline script`)
    assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i, `${url} has an inline style or handler`)
    await page.waitForFunction('window.htmx !== undefined')
    assert.deepEqual(violations, [])
  } finally {
    page.off('console', listener)
  }
}
