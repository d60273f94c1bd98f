import type { Command } from 'commander'
import { apiCommand, runApi, table, type CliContext, type ClientOptions } from './cli-context.js'

/** Who is connected now (`GET /orgs/:org/sessions`), and disconnecting one; an organisation's stored audit trail. */
export function registerSessionVerbs (program: Command, ctx: CliContext): void {
  const session = program.command('session').description('live MQTT sessions: who is connected now')
  apiCommand(session, 'list <org>', 'list the organisation\'s live sessions (identity, client id, since, remote address, transport), on every broker process sharing the Redis')
    .action(async (orgId: string, options: ClientOptions) => {
      await runApi(ctx, options, async c => await c.request('GET', `/orgs/${encodeURIComponent(orgId)}/sessions`),
        r => table(r.sessions, ['identity', 'clientId', 'since', 'remoteAddress', 'transport']))
    })
  apiCommand(session, 'disconnect <org> <clientId>', 'close a live session (it may reconnect: revoke its certificate to keep it out)')
    .action(async (orgId: string, clientId: string, options: ClientOptions) => {
      await runApi(ctx, options, async c => await c.request('DELETE', `/orgs/${encodeURIComponent(orgId)}/sessions/${encodeURIComponent(clientId)}`),
        () => `disconnected ${clientId}`)
    })
  apiCommand(program, 'audit <org>', 'the organisation\'s last changes, newest first (the last 1000 are kept; the log has every one)')
    .option('--operator <name>', 'only this operator\'s')
    .option('--action <action>', 'only this action (cert.revoke) or family (cert)')
    .option('--since <when>', 'only since an ISO 8601 time or how long ago (30m, 2h, 7d)')
    .action(async (orgId: string, options: ClientOptions & { operator?: string, action?: string, since?: string }) => {
      const query = new URLSearchParams(Object.entries({ operator: options.operator, action: options.action, since: options.since }).filter((e): e is [string, string] => e[1] !== undefined)).toString()
      await runApi(ctx, options, async c => await c.request('GET', `/orgs/${encodeURIComponent(orgId)}/audit${query === '' ? '' : `?${query}`}`),
        r => table(r.entries, ['at', 'operator', 'action']))
    })
}
