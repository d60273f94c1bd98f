import { Option, type Command } from 'commander'
import { CA_KEY_TYPES } from '../signer.js'
import { apiCommand, runApi, table, type CliContext, type ClientOptions } from './cli-context.js'

export function registerOrgVerbs (program: Command, ctx: CliContext): void {
  const org = program.command('org').description('organisations: each has its own CA, server certificate and devices')
  apiCommand(org, 'create <org>', 'create an organisation (a DNS label) with its managed CA and a server certificate for <org>.messaging.<domain>')
    .addOption(new Option('--ca-key-type <type>', 'the managed CA\'s key: RSA-2048, ECDSA P-256/P-384/P-521 or Ed25519 (default rsa)').choices(CA_KEY_TYPES))
    .action(async (orgId: string, options: ClientOptions & { caKeyType?: string }) => {
      await runApi(ctx, options, async c => await c.request('POST', '/orgs', { id: orgId, ...(options.caKeyType === undefined ? {} : { ca_key_type: options.caKeyType }) }),
        r => `created organisation ${r.id}: clients connect with SNI ${r.server_name} (managed CA key: ${r.ca_key_type})`)
    })
  apiCommand(org, 'list', 'list organisations')
    .action(async (options: ClientOptions) => {
      await runApi(ctx, options, async c => await c.request('GET', '/orgs'),
        r => table(r.orgs, ['id', 'server_name', 'cas', 'revoked_certificates', 'created_at']))
    })
}
