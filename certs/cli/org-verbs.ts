import { Argument, Option, type Command } from 'commander'
import { CA_KEY_TYPES } from '../signer.js'
import { apiCommand, runApi, table, type CliContext, type ClientOptions } from './cli-context.js'
import { registerOrgLimitsVerb } from './org-limits-verb.js'
import { registerOrgRenewalVerb } from './org-renewal-verb.js'

export function registerOrgVerbs (program: Command, ctx: CliContext): void {
  const org = program.command('org').description('organisations: each has its own CA, server certificate and devices')
  apiCommand(org, 'create <org>', 'create an organisation (a DNS label) with its managed CA and a server certificate for <org>.messaging.<domain>')
    .addOption(new Option('--ca-key-type <type>', 'the managed CA\'s key: RSA-2048, ECDSA P-256/P-384/P-521 or Ed25519 (default rsa)').choices(CA_KEY_TYPES))
    .option('--ca-key <pkcs11-uri>', 'keep the CA key in a PKCS#11 token (RFC 7512 URI, e.g. pkcs11:token=mqgate;object=acme-ca): generated there unless the token already holds that key; the gateway needs MQGATE_PKCS11_MODULE and MQGATE_PKCS11_PIN')
    .action(async (orgId: string, options: ClientOptions & { caKeyType?: string, caKey?: string }) => {
      const body = { id: orgId, ...(options.caKeyType === undefined ? {} : { ca_key_type: options.caKeyType }), ...(options.caKey === undefined ? {} : { ca_key: options.caKey }) }
      await runApi(ctx, options, async c => await c.request('POST', '/orgs', body),
        r => `created organisation ${r.id}: clients connect with SNI ${r.server_name} (managed CA key: ${r.ca_key_type}${r.ca_key_uri === null || r.ca_key_uri === undefined ? '' : ', in ' + String(r.ca_key_uri)})`)
    })
  apiCommand(org, 'ca-key <org>', 'move-to: give the organisation a new managed CA whose key is generated in (or found in) a PKCS#11 token; the old CA stays trusted for the devices it signed, and its key is deleted from the registry')
    .addArgument(new Argument('<action>', 'what to do with the CA key').choices(['move-to']))
    .argument('<pkcs11-uri>', 'RFC 7512 URI of the key in the token, e.g. pkcs11:token=mqgate;object=acme-ca-2')
    .addOption(new Option('--ca-key-type <type>', 'the new CA\'s key type (default rsa, or the type of the token key the URI names)').choices(CA_KEY_TYPES))
    .action(async (orgId: string, _action: string, uri: string, options: ClientOptions & { caKeyType?: string }) => {
      const body = { ca_key: uri, ...(options.caKeyType === undefined ? {} : { ca_key_type: options.caKeyType }) }
      await runApi(ctx, options, async c => await c.request('PUT', `/orgs/${encodeURIComponent(orgId)}/ca-key`, body),
        r => `organisation ${r.id}: managed CA ${r.managed_ca_id} (${r.ca_key_type}) now signs in ${String(r.ca_key_uri)}; the previous CA is kept for trust only`)
    })
  registerOrgLimitsVerb(org, ctx)
  registerOrgRenewalVerb(org, ctx)
  apiCommand(org, 'list', 'list organisations')
    .action(async (options: ClientOptions) => {
      await runApi(ctx, options, async c => await c.request('GET', '/orgs'),
        r => table(r.orgs, ['id', 'server_name', 'cas', 'revoked_certificates', 'created_at']))
    })
}
