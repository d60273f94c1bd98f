import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { Command } from 'commander'
import { writeFileAtomic } from '../atomic-file.js'
import { fileNameForCommonName } from '../names.js'
import { toPkcs12 } from '../pkcs12.js'
import { apiCommand, parseDays, readText, runApi, table, type CliContext, type ClientOptions } from './cli-context.js'

interface IssueOptions extends ClientOptions {
  readonly cn?: string
  readonly csr?: string
  readonly days?: number
  readonly out?: string
  readonly p12?: string
  readonly password?: string
}

export function registerCertVerbs (program: Command, ctx: CliContext): void {
  const cert = program.command('cert').description('client certificates issued by an organisation\'s CA')
  const path_ = (orgId: string, ref = ''): string => `/orgs/${encodeURIComponent(orgId)}/certs${ref === '' ? '' : '/' + encodeURIComponent(ref)}`

  apiCommand(cert, 'issue <org>', 'issue a client certificate for a device, gateway or application (key generated unless --csr)')
    .option('--cn <cn>', 'd:<type>:<id>, g:<type>:<id> or a:<app> (default with --csr: the CSR\'s subject CN)')
    .option('--csr <file>', 'sign this CSR (PEM) instead of generating a key')
    .option('--days <n>', 'validity in days (default 365)', parseDays)
    .option('--out <dir>', 'write <name>.crt, <name>.key (when generated, mode 0600) and ca.pem there')
    .option('--p12 <file>', 'also write a PKCS#12 bundle for a mobile app (needs the generated key)')
    .option('--password <password>', 'password of the PKCS#12 bundle')
    .action(async (orgId: string, options: IssueOptions, command: Command) => {
      if (options.cn === undefined && options.csr === undefined) {
        command.error('--cn is required unless --csr names the identity in its subject CN', { exitCode: 2, code: 'mqgate.usage' })
      }
      if (options.p12 !== undefined && (options.csr !== undefined || options.password === undefined)) {
        command.error('--p12 needs --password and a generated key (omit --csr)', { exitCode: 2, code: 'mqgate.usage' })
      }
      const body = { ...(options.cn === undefined ? {} : { cn: options.cn }), ...(options.csr === undefined ? {} : { csr: readText(options.csr) }), ...(options.days === undefined ? {} : { days: options.days }) }
      const result = await runApi(ctx, options, async c => await c.request('POST', path_(orgId), body),
        r => `issued ${r.common_name}: serial ${r.serial_number}, sha256:${r.fingerprint_sha256}, until ${r.expires_on}` + (r.private_key !== undefined && options.out === undefined && options.p12 === undefined ? '\n' + String(r.certificate) + String(r.private_key) : ''))
      await writeIssuedFiles(result, options)
    })
  apiCommand(cert, 'list <org>', 'list issued device, gateway and application certificates (demo identities included) with their state (active, revoked, expired)')
    .option('--expiring <window>', 'only what expires within the window (30d, 12h) and has not renewed (no replacement issued), CAs and server certificates included')
    .option('--all', 'every certificate the managed CA signed: also server certificates, the bridge\'s a:mqgate-bridge certificates and the CA\'s delegated OCSP signers')
    .action(async (orgId: string, options: ClientOptions & { expiring?: string, all?: boolean }, command: Command) => {
      if (options.expiring !== undefined && !/^\d+[dh]$/.test(options.expiring)) command.error('--expiring takes a window such as 30d or 12h', { exitCode: 2, code: 'mqgate.usage' })
      const params = new URLSearchParams({ ...(options.expiring === undefined ? {} : { expiring: options.expiring }), ...(options.all === true ? { all: 'true' } : {}) }).toString()
      await runApi(ctx, options, async c => await c.request('GET', path_(orgId) + (params === '' ? '' : `?${params}`)), r => [
        table(r.certificates, ['id', ...(options.all === true ? ['kind'] : []), 'common_name', 'status', 'serial_number', 'expires_on']),
        ...(r.cas === undefined ? [] : ['', 'CAs:', table(r.cas, ['id', 'kind', 'not_after', 'description'])]),
        ...(r.server_certificates === undefined ? [] : ['', 'Server certificates:', table(r.server_certificates, ['id', 'active', 'names', 'not_after'])])
      ].join('\n'))
    })
  for (const [verb, description] of [
    ['show', 'one issued certificate, by id, serial number or SHA-256 fingerprint'],
    ['revoke', 'revoke a certificate: live sessions using it are closed at once, on every broker'],
    ['restore', 'undo a revocation']
  ] as const) {
    apiCommand(cert, `${verb} <org> <ref>`, description)
      .action(async (orgId: string, ref: string, options: ClientOptions) => {
        const route = verb === 'show' ? path_(orgId, ref) : `${path_(orgId, ref)}/${verb}`
        await runApi(ctx, options, async c => await c.request(verb === 'show' ? 'GET' : 'POST', route),
          r => `${r.common_name}  ${r.status}  serial ${r.serial_number}  sha256:${r.fingerprint_sha256}  until ${r.expires_on}` + (verb === 'show' ? '\n' + String(r.certificate).trimEnd() : ''))
      })
  }
}

/** `--out` and `--p12`, written on the operator's machine: the PKCS#12 password never travels. */
/** Each file written aside and renamed into place: a key file is 0600 from its creation, even where an older, readable one stood (a write over it would keep its mode). */
async function writeIssuedFiles (result: any, options: IssueOptions): Promise<void> {
  const name = fileNameForCommonName(result.common_name)
  if (options.out !== undefined) {
    mkdirSync(options.out, { recursive: true })
    await writeFileAtomic(path.join(options.out, `${name}.crt`), result.certificate, 0o644)
    if (result.private_key !== undefined) await writeFileAtomic(path.join(options.out, `${name}.key`), result.private_key, 0o600)
    await writeFileAtomic(path.join(options.out, 'ca.pem'), result.ca_certificate, 0o644)
  }
  if (options.p12 !== undefined) {
    await writeFileAtomic(options.p12, toPkcs12(result.private_key, result.certificate, result.ca_certificate, options.password as string, result.common_name), 0o600)
  }
}
