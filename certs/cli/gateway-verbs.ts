import type { Command } from 'commander'
import { apiCommand, runApi, type CliContext, type ClientOptions } from './cli-context.js'

export function registerGatewayVerbs (program: Command, ctx: CliContext): void {
  const gateway = program.command('gateway').description('what gateways may do')
  apiCommand(gateway, 'devices <org> <gatewayId>', 'limit the devices a gateway acts for (<gatewayId> or <type>:<gatewayId>); no --allow: any device of its organisation')
    .option('--allow <device...>', '<type>:<id> or <type>:* (several allowed)')
    .action(async (orgId: string, gatewayId: string, options: ClientOptions & { allow?: string[] }) => {
      await runApi(ctx, options,
        async c => await c.request('PUT', `/orgs/${encodeURIComponent(orgId)}/gateways/${encodeURIComponent(gatewayId)}/devices`, { allow: options.allow ?? [] }),
        r => `gateway ${r.gateway} may act for: ${r.allow === 'any' ? 'any device of the organisation' : r.allow.join(', ')}`)
    })
}
