import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import type { Browser, Page } from 'puppeteer-core'
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * A page whose downloads Chromium saves into `dir` (CDP's Browser.setDownloadBehavior,
 * which puppeteer sets per browser context): the console's attachment answers arrive
 * as files, exactly as a person's browser saves them.
 */
export async function pageWithDownloads (browser: Browser, dir: string): Promise<Page> {
  const context = await browser.createBrowserContext({ downloadBehavior: { policy: 'allow', downloadPath: dir } })
  return await context.newPage()
}

/** The name and bytes of the file in `dir` called `name` (or matching it) once Chromium has finished saving it (no `.crdownload` left). */
export async function downloadedFile (dir: string, name: string | RegExp, timeoutMs = 15_000): Promise<{ name: string, bytes: Buffer }> {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    const files = readdirSync(dir)
    const found = files.find(f => typeof name === 'string' ? f === name : name.test(f))
    if (found !== undefined && !files.some(f => f.endsWith('.crdownload'))) return { name: found, bytes: readFileSync(path.join(dir, found)) }
    await sleep(100)
  }
  throw new Error(`no download ${String(name)} in ${dir} (there: ${readdirSync(dir).join(', ')})`)
}
