import { statSync } from 'node:fs'
import type { Command } from 'commander'
import { spkiPin } from '../pins.js'
import { apiCommand, readText, runApi, type CliContext, type ClientOptions } from './cli-context.js'

export function registerPinVerb (program: Command, ctx: CliContext): void {
  apiCommand(program, 'pin <certFileOrOrg>', 'SHA-256 SPKI pin (base64) of a certificate or key file (a path that names a file), or of an organisation\'s server certificate (and of the key a --reuse-key renewal keeps)')
    .action(async (target: string, options: ClientOptions) => {
      if (statSync(target, { throwIfNoEntry: false })?.isFile() === true) {
        const pin = spkiPin(readText(target))
        ctx.out(options.json === true ? JSON.stringify({ file: target, spki_pin: pin }, null, 2) : `sha256/${pin}`)
        return
      }
      await runApi(ctx, options, async c => await c.request('GET', `/orgs/${encodeURIComponent(target)}/pins`), r => [
        `active server certificate ${r.active.server_cert_id}: sha256/${r.active.spki_pin}`,
        `after a --reuse-key renewal:  sha256/${r.active.reuse_key_renewal_pin}`,
        ...r.pending.map((p: any) => `pending CSR ${p.server_cert_id} (new key): sha256/${p.spki_pin}`)
      ].join('\n'))
    })
}
