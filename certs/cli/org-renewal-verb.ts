import type { Command } from 'commander'
import { apiCommand, runApi, type CliContext, type ClientOptions } from './cli-context.js'

/** `mqgate org renewal <org> [--window N%|any]`: without --window it shows the window. */
export function registerOrgRenewalVerb (org: Command, ctx: CliContext): void {
  apiCommand(org, 'renewal <org>', 'show or set how early certificates of the organisation may renew over EST (simplereenroll): in the last N% of their lifetime (default 30%; any: at any time before expiry)')
    .option('--window <N%|any>', 'the share of the lifetime, at its end, in which a certificate may renew, e.g. 30%; any is 100%')
    .action(async (orgId: string, options: ClientOptions & { window?: string }) => {
      const path = `/orgs/${encodeURIComponent(orgId)}/renewal`
      await runApi(ctx, options,
        async c => options.window === undefined ? await c.request('GET', path) : await c.request('PUT', path, { window: options.window }),
        r => `renewal window of ${r.org as string}: the last ${String(r.window_percent)}% of a certificate's lifetime${r.default === true ? ' (the default)' : ''}`)
    })
}
