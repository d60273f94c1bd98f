import type { Command } from 'commander'
import { apiCommand, collect, parseDays, readText, readUpload, runApi, table, type CliContext, type ClientOptions } from './cli-context.js'

export function registerServerCertVerbs (program: Command, ctx: CliContext): void {
  const sc = program.command('server-cert').description('TLS server certificates of an organisation')
  const path = (orgId: string): string => `/orgs/${encodeURIComponent(orgId)}/server-certs`

  apiCommand(sc, 'csr <org>', 'make a key on the gateway (it never leaves) and print a CSR for it')
    .option('--cn <name>', 'subject CN (default <org>.messaging.<domain>)')
    .option('--san <name>', 'a SubjectAltName, DNS name or IP (repeatable)', collect, [])
    .option('--reuse-key', 'renew with the active certificate\'s key, so SPKI pins in apps stay valid')
    .action(async (orgId: string, options: ClientOptions & { cn?: string, san: string[], reuseKey?: boolean }) => {
      const body = { ...(options.cn === undefined ? {} : { cn: options.cn }), sans: options.san, reuse_key: options.reuseKey === true }
      await runApi(ctx, options, async c => await c.request('POST', `${path(orgId)}/csr`, body),
        r => `${String(r.csr).trimEnd()}\n# server certificate ${r.id} (pending), SPKI pin ${r.spki_pin}: have this CSR signed, then \`mqgate server-cert upload ${orgId} <cert>\``)
    })
  apiCommand(sc, 'issue <org>', 'a new server certificate from the organisation\'s managed CA, key made on the gateway (recorded: `cert list --all`)')
    .option('--san <name>', 'a SubjectAltName besides <org>.messaging.<domain>, DNS name or IP (repeatable)', collect, [])
    .option('--days <n>', 'validity in days (default 397)', parseDays)
    .action(async (orgId: string, options: ClientOptions & { san: string[], days?: number }) => {
      const body = { sans: options.san, ...(options.days === undefined ? {} : { days: options.days }) }
      await runApi(ctx, options, async c => await c.request('POST', `${path(orgId)}/issue`, body),
        r => `issued server certificate ${r.id} for ${r.names.join(', ')} (until ${r.not_after}); activate it with \`mqgate server-cert activate ${orgId} ${r.id}\``)
    })
  apiCommand(sc, 'upload <org> <cert>', 'upload a signed certificate (with its chain): completes a CSR, or comes with --key')
    .option('--key <file>', 'the certificate\'s private key (PEM), when it was not made by `server-cert csr`')
    .option('--passphrase <passphrase>', 'passphrase of an encrypted key')
    .action(async (orgId: string, certFile: string, options: ClientOptions & { key?: string, passphrase?: string }) => {
      const body = {
        certificate: readUpload(certFile),
        ...(options.key === undefined ? {} : { key: readText(options.key) }),
        ...(options.passphrase === undefined ? {} : { passphrase: options.passphrase })
      }
      await runApi(ctx, options, async c => await c.request('POST', path(orgId), body),
        r => `uploaded server certificate ${r.id} for ${r.names.join(', ')} (until ${r.not_after}); activate it with \`mqgate server-cert activate ${orgId} ${r.id}\``)
    })
  apiCommand(sc, 'list <org>', 'list server certificates and pending CSRs')
    .action(async (orgId: string, options: ClientOptions) => {
      await runApi(ctx, options, async c => await c.request('GET', path(orgId)),
        r => table(r.server_certificates, ['id', 'status', 'active', 'names', 'not_after', 'spki_pin']))
    })
  apiCommand(sc, 'activate <org> <id>', 'serve this certificate from the next TLS handshake on')
    .action(async (orgId: string, id: string, options: ClientOptions) => {
      await runApi(ctx, options, async c => await c.request('POST', `${path(orgId)}/${encodeURIComponent(id)}/activate`),
        r => `activated server certificate ${r.id} (sha256:${r.fingerprint_sha256})`)
    })
}
