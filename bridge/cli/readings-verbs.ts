import type { Command } from 'commander'
import { apiCommand, runApi, table, type CliContext, type ClientOptions } from '../../certs/cli/cli-context.js'

/** `mqgate readings ...`: what the bridge could not deliver, and its counters. */
export function registerReadingVerbs (program: Command, ctx: CliContext): void {
  const readings = program.command('readings').description('readings the bridge rejected or could not deliver')
  apiCommand(readings, 'dead-letters', 'list dead-lettered readings, newest first, with their reason')
    .option('--org <org>', 'only this organisation')
    .option('--limit <n>', 'at most this many (default 100)')
    .action(async (options: ClientOptions & { org?: string, limit?: string }) => {
      const query = new URLSearchParams({ ...(options.org === undefined ? {} : { org: options.org }), ...(options.limit === undefined ? {} : { limit: options.limit }) })
      await runApi(ctx, options, async c => await c.request('GET', `/readings/dead-letters${query.size > 0 ? '?' + query.toString() : ''}`),
        r => table(r.dead_letters.map((l: any) => ({ ...l, device: `${l.orgId}/${l.typeId}/${l.deviceId}` })), ['at', 'code', 'device', 'reason']))
    })
  apiCommand(readings, 'counters', 'readings stored, forwarded, not POSTed to the own temps API (own_api), retried, dead-lettered and rejected by reason')
    .action(async (options: ClientOptions) => {
      await runApi(ctx, options, async c => await c.request('GET', '/readings/counters'),
        r => table(Object.entries(r.counters).map(([name, value]) => ({ name, value })), ['name', 'value']))
    })
}
