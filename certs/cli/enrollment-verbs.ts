import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { writeFileAtomic } from '../atomic-file.js'
import { InvalidArgumentError, type Command } from 'commander'
import { fileNameForCommonName } from '../names.js'
import { apiCommand, runApi, table, type CliContext, type ClientOptions } from './cli-context.js'

interface ClaimCreateOptions extends ClientOptions {
  readonly types: string
  readonly maxUses?: number
  readonly expires?: string
  readonly out?: string
}

/** `claim create|list|revoke` and `enroll-token create`: who may enroll over EST (README, "Enrollment (EST)"). */
export function registerEnrollmentVerbs (program: Command, ctx: CliContext): void {
  const claim = program.command('claim').description('claim (bootstrap) certificates c:<name>: they enroll devices over EST and do nothing else')
  const claims = (orgId: string, name = ''): string => `/orgs/${encodeURIComponent(orgId)}/claims${name === '' ? '' : '/' + encodeURIComponent(name)}`

  apiCommand(claim, 'create <org> <name>', 'issue a claim certificate c:<name> that enrolls devices of the given types (key generated, shown once)')
    .requiredOption('--types <types>', 'device types it may enroll, comma-separated (sensor,thermo)')
    .option('--max-uses <n>', 'how many devices it may enroll (default: no limit)', parseUses)
    .option('--expires <duration>', 'lifetime of the claim and its certificate: 30d (default), 12h, 90m')
    .option('--out <dir>', 'write c_<name>.crt, c_<name>.key (mode 0600) and ca.pem there')
    .action(async (orgId: string, name: string, options: ClaimCreateOptions) => {
      const body = {
        name,
        types: options.types.split(',').map(t => t.trim()).filter(t => t !== ''),
        ...(options.maxUses === undefined ? {} : { max_uses: options.maxUses }),
        ...(options.expires === undefined ? {} : { expires: options.expires })
      }
      const result = await runApi(ctx, options, async c => await c.request('POST', claims(orgId), body),
        r => `claim ${r.name}: types ${r.types.join(',')}, ${r.max_uses === null ? 'no use limit' : `${r.max_uses} uses`}, until ${r.expires_at}` +
          (options.out === undefined ? '\n' + String(r.certificate) + String(r.private_key) : `\nwrote ${claimFiles(r.name, options.out).join(', ')}`))
      if (options.out !== undefined) await writeClaimFiles(result, options.out)
    })

  apiCommand(claim, 'list <org>', 'list claims with their state (active, exhausted, expired, revoked) and uses')
    .action(async (orgId: string, options: ClientOptions) => {
      await runApi(ctx, options, async c => await c.request('GET', claims(orgId)), r => table(r.claims, ['name', 'status', 'types', 'uses', 'max_uses', 'expires_at']))
    })

  apiCommand(claim, 'revoke <org> <name>', 'revoke a claim and its certificate: it enrolls nothing more (devices it enrolled keep their certificates)')
    .action(async (orgId: string, name: string, options: ClientOptions) => {
      await runApi(ctx, options, async c => await c.request('DELETE', claims(orgId, name)), r => `claim ${r.name} revoked after ${r.uses} uses`)
    })

  const token = program.command('enroll-token').description('one-time enrollment tokens: the HTTP Basic password of one EST simpleenroll for one identity')
  apiCommand(token, 'create <org>', 'mint a token that enrolls --cn once, before it expires; printed once, stored only as a hash')
    .requiredOption('--cn <identity>', 'the identity it enrolls: d:<type>:<id>, g:<type>:<id> or a:<app>')
    .option('--ttl <duration>', 'lifetime: 15m (default), 12h, up to 30d')
    .action(async (orgId: string, options: ClientOptions & { cn: string, ttl?: string }) => {
      const body = { cn: options.cn, ...(options.ttl === undefined ? {} : { ttl: options.ttl }) }
      await runApi(ctx, options, async c => await c.request('POST', `/orgs/${encodeURIComponent(orgId)}/enroll-tokens`, body), r => String(r.token))
    })
}

function parseUses (value: string): number {
  const uses = Number(value)
  if (!Number.isInteger(uses) || uses < 1) throw new InvalidArgumentError('a whole number from 1')
  return uses
}

/** The bootstrap files' naming (cert issue --out): c_<name>.crt, c_<name>.key, ca.pem. */
function claimFiles (name: string, dir: string): string[] {
  const base = fileNameForCommonName(`c:${name}`)
  return [path.join(dir, `${base}.crt`), path.join(dir, `${base}.key`), path.join(dir, 'ca.pem')]
}

/** Each file written new and renamed into place: writeFileSync's mode applies to a file it creates only, so a key written over a 0644 file stayed readable. */
async function writeClaimFiles (result: any, dir: string): Promise<void> {
  const [crt, key, ca] = claimFiles(result.name, dir)
  mkdirSync(dir, { recursive: true })
  await writeFileAtomic(crt, result.certificate, 0o644)
  await writeFileAtomic(key, result.private_key, 0o600)
  await writeFileAtomic(ca, result.ca_certificate, 0o644)
}
