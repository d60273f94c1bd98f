import type { Command } from 'commander'
import { apiCommand, runApi, table, type CliContext, type ClientOptions } from './cli-context.js'

export function registerOrgVerbs (program: Command, ctx: CliContext): void {
  const org = program.command('org').description('organisations: each has its own CA, server certificate and devices')
  apiCommand(org, 'create <org>', 'create an organisation (a DNS label) with its managed CA and a server certificate for <org>.messaging.<domain>')
    .action(async (orgId: string, options: ClientOptions) => {
      await runApi(ctx, options, async c => await c.request('POST', '/orgs', { id: orgId }),
        r => `created organisation ${r.id}: clients connect with SNI ${r.server_name}`)
    })
  apiCommand(org, 'list', 'list organisations')
    .action(async (options: ClientOptions) => {
      await runApi(ctx, options, async c => await c.request('GET', '/orgs'),
        r => table(r.orgs, ['id', 'server_name', 'cas', 'revoked_certificates', 'created_at']))
    })
}
