import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { X509Certificate } from 'node:crypto'
import { Command, Option } from 'commander'
import { writeFileAtomic } from '../atomic-file.js'
import { createCsr } from '../csr.js'
import { estEnroll, type EstCredential } from '../enrollment/est-client.js'
import { fileNameForCommonName } from '../names.js'
import { generateKeyPair } from '../x509-builder.js'
import type { CliContext } from './cli-context.js'

/**
 * `mqgate enroll` and `mqgate renew`: a reference EST client for Linux
 * devices that run Node. The key is generated here and never sent; only the
 * CSR it signs leaves the device. The new certificate and key replace the
 * files in --out, each whole (written aside, then renamed), the key 0600; the
 * pair they replace is kept as <name>.previous.crt/.key, so a device that
 * stops between the two renames still has a matching pair (a renewed
 * certificate stays valid for MQGATE_RENEW_GRACE after the new one's first use).
 */

interface EstOptions {
  readonly est: string
  readonly ca: string
  readonly servername?: string
  readonly out: string
  readonly keyType: 'ec' | 'rsa'
  readonly json?: boolean
}

interface EnrollOptions extends EstOptions {
  readonly cn: string
  readonly claim?: string
  readonly claimKey?: string
  readonly tokenFile?: string
}

interface RenewOptions extends EstOptions {
  readonly cert: string
  readonly key: string
}

export function registerEnrollVerbs (program: Command, ctx: CliContext): void {
  estCommand(program, 'enroll', 'device side: get a first certificate over EST with a claim certificate (--claim, --claim-key) or an enrollment token (--token-file, or MQGATE_ENROLL_TOKEN)')
    .requiredOption('--cn <identity>', 'the identity to enroll: d:<type>:<id>, g:<type>:<id> or a:<app>')
    .option('--claim <file>', 'the claim certificate (c_<name>.crt)')
    .option('--claim-key <file>', 'its key (c_<name>.key)')
    .option('--token-file <file>', 'a file holding a one-time enrollment token (mqgate enroll-token create)')
    .action(async (options: EnrollOptions, command: Command) => {
      const credential = enrollCredential(options, ctx, command)
      await enrollAndWrite(ctx, options, 'simpleenroll', options.cn, credential)
    })
  estCommand(program, 'renew', 'device side: renew a certificate over EST (simplereenroll) with that certificate; a new key is generated')
    .requiredOption('--cert <file>', 'the certificate being renewed')
    .requiredOption('--key <file>', 'its key')
    .action(async (options: RenewOptions) => {
      const certPem = readFileSync(options.cert, 'utf8')
      const commonName = commonNameOf(certPem)
      await enrollAndWrite(ctx, options, 'simplereenroll', commonName, { kind: 'certificate', certPem, keyPem: readFileSync(options.key, 'utf8') })
    })
}

function estCommand (program: Command, name: string, description: string): Command {
  return program.command(name)
    .description(description)
    .requiredOption('--est <url>', 'the organisation\'s EST server: https://<org>.messaging.<domain>:<temps API port>')
    .requiredOption('--ca <file>', 'CA that verifies the EST server (the ca.pem of the claim or of the current certificate)')
    .option('--servername <name>', 'TLS SNI name, when --est names an address')
    .requiredOption('--out <dir>', 'write <name>.crt and <name>.key (0600) there, replacing what is there')
    .addOption(new Option('--key-type <type>', 'the new key').choices(['ec', 'rsa']).default('ec'))
    .option('--json', 'print the result as JSON')
}

function enrollCredential (options: EnrollOptions, ctx: CliContext, command: Command): EstCredential {
  const token = options.tokenFile !== undefined ? readFileSync(options.tokenFile, 'utf8').trim() : (ctx.env as Record<string, string | undefined>).MQGATE_ENROLL_TOKEN
  const claim = options.claim !== undefined || options.claimKey !== undefined
  if (claim === (token !== undefined && token !== '')) command.error('give either --claim and --claim-key, or an enrollment token (--token-file, MQGATE_ENROLL_TOKEN)', { exitCode: 2, code: 'mqgate.usage' })
  if (!claim) return { kind: 'token', token: token as string }
  if (options.claim === undefined || options.claimKey === undefined) command.error('--claim needs --claim-key', { exitCode: 2, code: 'mqgate.usage' })
  return { kind: 'certificate', certPem: readFileSync(options.claim as string, 'utf8'), keyPem: readFileSync(options.claimKey as string, 'utf8') }
}

async function enrollAndWrite (ctx: CliContext, options: EstOptions, operation: 'simpleenroll' | 'simplereenroll', commonName: string, credential: EstCredential): Promise<void> {
  const keys = generateKeyPair(options.keyType)
  const csrPem = createCsr(keys.privateKeyPem, commonName, [])
  const endpoint = { url: options.est, caPem: readFileSync(options.ca, 'utf8'), servername: options.servername }
  const [leaf] = await estEnroll(endpoint, operation, csrPem, credential)
  const issued = new X509Certificate(leaf)
  mkdirSync(options.out, { recursive: true })
  const base = path.join(options.out, fileNameForCommonName(commonName))
  keepPrevious(base)
  await writeFileAtomic(`${base}.key`, keys.privateKeyPem, 0o600)
  await writeFileAtomic(`${base}.crt`, leaf, 0o644)
  const result = { common_name: commonName, serial_number: issued.serialNumber, expires_on: new Date(issued.validTo).toISOString(), certificate_file: `${base}.crt`, key_file: `${base}.key` }
  ctx.out(options.json === true ? JSON.stringify(result, null, 2) : `${operation === 'simpleenroll' ? 'enrolled' : 'renewed'} ${commonName}: serial ${result.serial_number}, until ${result.expires_on}; wrote ${result.certificate_file} and ${result.key_file}`)
}

function keepPrevious (base: string): void {
  if (!existsSync(`${base}.crt`) || !existsSync(`${base}.key`)) return
  copyFileSync(`${base}.key`, `${base}.previous.key`)
  copyFileSync(`${base}.crt`, `${base}.previous.crt`)
}

function commonNameOf (certPem: string): string {
  const match = /^CN=(.*)$/m.exec(new X509Certificate(certPem).subject)
  if (match === null) throw new Error('the certificate has no subject CN to renew')
  return match[1]
}
