import assert from 'node:assert/strict'
import type { Page } from 'puppeteer-core'
import { readingAdminRoutes } from '../../bridge/index.js'
import { MemoryDeadLetters } from '../../bridge/dead-letters.js'
import { startConsoleHarness, type ConsoleHarness } from '../support/console-browser.js'

// The checks below run in the page (puppeteer's $$eval and evaluate), where these are the browser's; the project compiles without the DOM's types.
declare const document: any
declare const window: any
declare const getComputedStyle: (element: any) => any
declare const NodeFilter: { SHOW_TEXT: number }

/**
 * The console is accessible as the README says (issue 14: "labels, keyboard,
 * contrast"), checked in a real Chromium on every main page: each form control
 * and button has an accessible name, each table a caption and header cells,
 * the first Tab reaches the skip link and shows where focus is, and every
 * visible text meets WCAG 2.1 AA contrast (4.5:1, 3:1 for large text) against
 * the background it is drawn on.
 */
describe('web console: accessibility on every main page', function () {
  this.timeout(180_000)
  let harness: ConsoleHarness
  let page: Page

  const PAGES = ['/orgs', '/orgs/acme/sessions', '/orgs/acme/audit', '/orgs/acme/cas', '/orgs/acme/server-certs',
    '/orgs/acme/device-certs', '/orgs/acme/claims', '/orgs/acme/gateways?gateway=gw1', '/account', '/dead-letters']

  before(async () => {
    // With the bridge's admin routes, as `mqgate start` has them: the dead letters page reads them.
    harness = await startConsoleHarness({ orgs: ['acme'], adminRoutes: [readingAdminRoutes(new MemoryDeadLetters())] })
    page = await harness.newPage()
    await page.goto(`${harness.consoleUrl}/sign-in`)
  })
  after(async () => await harness?.close())

  it('names every control and button on the sign-in page, and meets AA contrast there', async () => {
    assert.deepEqual(await unnamedControls(page), [])
    assert.deepEqual(await lowContrastTexts(page), [])
    await harness.signIn(page, harness.gateway.admin.token)
  })

  for (const path of PAGES) {
    it(`${path}: named controls, captioned tables, skip link and visible focus, AA contrast`, async () => {
      const response = await page.goto(`${harness.consoleUrl}${path}`)
      assert.equal(response?.status(), 200, `${path} answered ${String(response?.status())}`)
      assert.ok(await page.$('form, table') !== null, `${path} has no form nor table to check`)
      assert.deepEqual(await unnamedControls(page), [], `${path}: controls without an accessible name`)
      assert.deepEqual(await uncaptionedTables(page), [], `${path}: tables without a caption or header cells`)
      assert.deepEqual(await firstTabStop(page), { skip: true, target: true, outline: true }, `${path}: the first Tab`)
      assert.deepEqual(await lowContrastTexts(page), [], `${path}: text under AA contrast`)
    })
  }
})

/** Visible inputs, selects, textareas and buttons with no accessible name (label, aria-label(ledby), title, or a button's text). */
async function unnamedControls (page: Page): Promise<string[]> {
  return await page.$$eval('input, select, textarea, button', (elements: any[]) => elements.flatMap(element => {
    const control = element
    if (control.type === 'hidden' || control.getClientRects().length === 0) return []
    const labelled = (control.labels?.length ?? 0) > 0 || control.getAttribute('aria-label') !== null ||
      control.getAttribute('aria-labelledby') !== null || control.title !== ''
    const ownText = control.tagName === 'BUTTON' ? (control.textContent ?? '').trim() !== '' : ['submit', 'button'].includes(control.type) && control.value !== ''
    return labelled || ownText ? [] : [control.outerHTML.slice(0, 120)]
  }))
}

async function uncaptionedTables (page: Page): Promise<string[]> {
  return await page.$$eval('table', (tables: any[]) => tables.flatMap(table => {
    const named = table.caption !== null || table.getAttribute('aria-label') !== null || table.getAttribute('aria-labelledby') !== null
    const headed = table.querySelector('th') !== null
    return named && headed ? [] : [table.outerHTML.slice(0, 120)]
  }))
}

/** After one Tab from the top: focus is on a skip link whose target exists, drawn with a visible outline. */
async function firstTabStop (page: Page): Promise<{ skip: boolean, target: boolean, outline: boolean }> {
  await page.evaluate(() => { document.activeElement?.blur(); window.scrollTo(0, 0) })
  await page.keyboard.press('Tab')
  return await page.evaluate(() => {
    const focused = document.activeElement
    const href = focused?.getAttribute('href') ?? ''
    const style = focused === null ? undefined : getComputedStyle(focused)
    return {
      skip: focused?.tagName === 'A' && href.startsWith('#'),
      target: href.length > 1 && document.getElementById(href.slice(1)) !== null,
      outline: style !== undefined && style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2
    }
  })
}

/** Elements whose own visible text has less than the WCAG 2.1 AA contrast ratio against the first opaque background behind it. */
async function lowContrastTexts (page: Page): Promise<string[]> {
  return await page.evaluate(() => {
    const rgba = (value: string): number[] => (value.match(/[\d.]+/g) ?? ['0', '0', '0', '0']).map(Number)
    const luminance = ([r, g, b]: number[]): number => {
      const [R, G, B] = [r, g, b].map(c => { const s = c / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4 })
      return 0.2126 * R + 0.7152 * G + 0.0722 * B
    }
    const background = (element: any): number[] => {
      for (let node = element; node !== null; node = node.parentElement) {
        const color = rgba(getComputedStyle(node).backgroundColor)
        if (color.length < 4 || color[3] > 0.99) return color
      }
      return [255, 255, 255]
    }
    const failures: string[] = []
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT)
    for (let text = walker.nextNode(); text !== null; text = walker.nextNode()) {
      const element = text.parentElement
      if (element === null || (text.textContent ?? '').trim() === '' || element.getClientRects().length === 0) continue
      const style = getComputedStyle(element)
      if (style.visibility === 'hidden' || Number(style.opacity) === 0) continue
      // The skip link sits off screen until focused: it is checked focused, by the Tab test's outline.
      if (element.closest('.skip') !== null || element.closest('.sr-only') !== null) continue
      const [fg, bg] = [luminance(rgba(style.color)), luminance(background(element))]
      const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05)
      const size = parseFloat(style.fontSize)
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700)
      if (ratio < (large ? 3 : 4.5)) failures.push(`${ratio.toFixed(2)}: ${element.tagName.toLowerCase()}.${element.className} "${(text.textContent ?? '').trim().slice(0, 40)}"`)
    }
    return [...new Set(failures)]
  })
}
