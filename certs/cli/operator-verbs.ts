import { Option, type Command } from 'commander'
import { ROLES } from '../admin-api/operators/operator.js'
import { apiCommand, collect, runApi, table, type CliContext, type ClientOptions } from './cli-context.js'
import { readNewPassword } from './password-input.js'

/** The token is printed once, here: the gateway keeps only its hash. */
const credentialText = (verb: string) => (r: any): string =>
  `${verb} operator ${String(r.name)} (${String(r.role)}${r.orgs.length > 0 ? ' of ' + String(r.orgs.join(', ')) : ''}); its token, shown this once:\n${String(r.token)}`

export function registerOperatorVerbs (program: Command, ctx: CliContext): void {
  const operator = program.command('operator').description('operators of the admin API and their roles (admin, org-admin, viewer); admins only, but for `password`')
  apiCommand(operator, 'create <name>', 'create an operator and print its API token once (--json: {name, role, orgs, token}); the gateway stores only its hash')
    .addOption(new Option('--role <role>', 'admin: everything; org-admin: everything within its organisations, not organisations or operators; viewer: reads its organisations only').choices(ROLES).makeOptionMandatory())
    .option('--org <org>', 'an organisation the org-admin or viewer is limited to (repeat for several; an admin takes none)', collect, [])
    .action(async (name: string, options: ClientOptions & { role: string, org: string[] }) => {
      await runApi(ctx, options, async c => await c.request('POST', '/operators', { name, role: options.role, orgs: options.org }), credentialText('created'))
    })
  apiCommand(operator, 'list', 'list operators (never their tokens), revoked ones included')
    .action(async (options: ClientOptions) => {
      await runApi(ctx, options, async c => await c.request('GET', '/operators'),
        r => table(r.operators, ['name', 'role', 'orgs', 'created_at', 'rotated_at', 'revoked_at']))
    })
  apiCommand(operator, 'revoke <name>', 'revoke an operator: its token is refused at once, by every gateway process sharing the store')
    .action(async (name: string, options: ClientOptions) => {
      await runApi(ctx, options, async c => await c.request('DELETE', `/operators/${encodeURIComponent(name)}`), r => `revoked operator ${String(r.name)}`)
    })
  apiCommand(operator, 'rotate <name>', 'give an operator a new token, printed once; the old one is refused from now on')
    .action(async (name: string, options: ClientOptions) => {
      await runApi(ctx, options, async c => await c.request('POST', `/operators/${encodeURIComponent(name)}/rotate`), credentialText('rotated'))
    })
  apiCommand(operator, 'password', 'set (or with --clear, clear) the console password of the operator whose token MQGATE_ADMIN_TOKEN holds: typed twice on a terminal, else the first line of stdin; never an argument. At least 12 characters. An admin clears another operator\'s with --clear --name')
    .option('--clear', 'clear the password: the console then takes only the token')
    .option('--name <name>', 'with --clear, admins only: clear this operator\'s password instead (after a token leak: rotate its token, then this)')
    .action(async (options: ClientOptions & { clear?: boolean, name?: string }, command: Command) => {
      if (options.name !== undefined && options.clear !== true) command.error('--name needs --clear: an operator sets its own password, nobody else\'s', { exitCode: 2, code: 'mqgate.usage' })
      // /operators/self/password is the caller's own: `--name self` would clear the admin's, not an operator's.
      if (options.name === 'self') command.error('no operator is named self: to clear your own password, omit --name', { exitCode: 2, code: 'mqgate.usage' })
      if (options.clear === true) {
        const route = options.name === undefined ? '/operators/self/password' : `/operators/${encodeURIComponent(options.name)}/password`
        await runApi(ctx, options, async c => await c.request('DELETE', route), r => `cleared the password of operator ${String(r.name)}`)
        return
      }
      const password = await readNewPassword(process.stdin, text => process.stderr.write(text))
      await runApi(ctx, options, async c => await c.request('PUT', '/operators/self/password', { password }), r => `set the password of operator ${String(r.name)}`)
    })
}
