import { createHash, X509Certificate } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import puppeteer, { type Browser, type HTTPResponse, type Page } from 'puppeteer-core'
import { startTestGateway, type TestGateway, type TestGatewayOptions } from './gateway.js'
import { httpsRequest, type HttpAnswer } from './stack.js'

/**
 * The web console in a real headless Chromium (Debian's `chromium`, or
 * MQGATE_TEST_CHROMIUM; puppeteer-core downloads nothing) against a real
 * gateway and admin API on port 0. The browser trusts exactly the admin API's
 * server key (its SPKI pin), not every certificate. Every console test file
 * starts one in `before` and closes it in `after`: browser, gateway, data dir.
 */
export interface ConsoleHarness {
  readonly gateway: TestGateway
  readonly browser: Browser
  /** `https://localhost:<port>/console` */
  readonly consoleUrl: string
  /** A fresh browser context (its own cookies) with one page. */
  newPage (): Promise<Page>
  /** Signs `page` in with `token` through the sign-in form; answers the page's response after the redirect. */
  signIn (page: Page, token: string): Promise<HTTPResponse | null>
  /** `mqgate operator create`, through the admin API with the bootstrap token: the new operator's token. */
  createOperator (name: string, role: 'admin' | 'org-admin' | 'viewer', orgs: readonly string[]): Promise<string>
  /** The admin API with the bootstrap token, as the CLI calls it. */
  adminCall (method: string, route: string, body?: unknown): Promise<HttpAnswer>
  /**
   * Saves the page's screenshot as docs/console/<name>.png (committed: the README shows them)
   * when MQGATE_UPDATE_SCREENSHOTS=1, else into a temporary folder, so a test run leaves the tree clean.
   */
  screenshot (page: Page, name: string): Promise<void>
  close (): Promise<void>
}

export const CHROMIUM = process.env.MQGATE_TEST_CHROMIUM ?? '/usr/bin/chromium'
/** dist/test/support/ -> the repository's docs/console/, only when asked: otherwise a run would rewrite committed files. */
const SCREENSHOTS = process.env.MQGATE_UPDATE_SCREENSHOTS === '1'
  ? path.resolve(new URL('../../../docs/console/', import.meta.url).pathname)
  : path.join(tmpdir(), 'mqgate-console-screenshots')

export async function startConsoleHarness (options: TestGatewayOptions = {}): Promise<ConsoleHarness> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's chromium (.ci/run does) or set MQGATE_TEST_CHROMIUM`)
  const gateway = await startTestGateway(options)
  let browser: Browser
  try {
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', `--ignore-certificate-errors-spki-list=${adminSpkiPin(gateway.dataDir)}`, '--disable-gpu', '--disable-dev-shm-usage'],
      defaultViewport: { width: 1280, height: 900 }
    })
  } catch (err) {
    await gateway.close()
    throw err
  }
  const consoleUrl = `https://localhost:${gateway.admin.port}/console`
  const adminCall = async (method: string, route: string, body?: unknown): Promise<HttpAnswer> => await httpsRequest(gateway.admin.port, {
    method,
    path: route,
    caPem: gateway.admin.caPem,
    headers: { authorization: `Bearer ${gateway.admin.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  return {
    gateway,
    browser,
    consoleUrl,
    async newPage () {
      const context = await browser.createBrowserContext()
      return await context.newPage()
    },
    async signIn (page, token) {
      await page.goto(`${consoleUrl}/sign-in`)
      await page.$eval('#token', (input, value) => { (input as any).value = value }, token)
      const [response] = await Promise.all([page.waitForNavigation(), page.click('form.sign-in button[type=submit]')])
      return response
    },
    async createOperator (name, role, orgs) {
      const created = await adminCall('POST', '/operators', { name, role, orgs })
      if (created.status !== 201) throw new Error(`operator create ${name}: ${created.status} ${created.text}`)
      return created.body.token
    },
    adminCall,
    async screenshot (page, name) {
      mkdirSync(SCREENSHOTS, { recursive: true })
      await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true })
    },
    async close () {
      await browser.close()
      await gateway.close()
    }
  }
}

/** Base64 SHA-256 of the admin API server certificate's public key, as Chromium's --ignore-certificate-errors-spki-list wants it. */
function adminSpkiPin (dataDir: string): string {
  const cert = new X509Certificate(readFileSync(path.join(dataDir, 'admin', 'server.crt')))
  return createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('base64')
}
