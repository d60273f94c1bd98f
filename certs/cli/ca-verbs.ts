import { Argument, InvalidArgumentError, type Command } from 'commander'
import { CertsError } from '../errors.js'
import { CRL_SOURCE_EVERY } from '../crl-fetch/crl-source.js'
import { refuseIncludedPrivateKey } from '../included-key.js'
import { apiCommand, readUpload, runApi, table, type CliContext, type ClientOptions } from './cli-context.js'

const caLine = (r: any): string => `${r.id}  ${r.enabled === true ? 'enabled' : 'disabled'}  ${r.subject.replace(/\n/g, ', ')}  sha256:${r.fingerprint_sha256}`

export function registerCaVerbs (program: Command, ctx: CliContext): void {
  const ca = program.command('ca').description('CAs an organisation trusts for device certificates')
  const path = (orgId: string, caId = ''): string => `/orgs/${encodeURIComponent(orgId)}/cas${caId === '' ? '' : '/' + encodeURIComponent(caId)}`

  apiCommand(ca, 'add <org> <file>', 'upload an operator CA certificate (PEM or DER); active at once')
    .option('--description <text>', 'what this CA is for')
    .option('--shared', 'the same CA is trusted by another organisation and that is intended (its devices are trusted in both; CRLs are per organisation)')
    .action(async (orgId: string, file: string, options: ClientOptions & { description?: string, shared?: boolean }) => {
      const certificate = readUpload(file)
      // Refused here as well as by the API, so the CA's key never even travels to the gateway.
      refuseIncludedPrivateKey(certificate)
      const body = { certificate, ...(options.description === undefined ? {} : { description: options.description }), ...(options.shared === true ? { shared: true } : {}) }
      await runApi(ctx, options, async c => await c.request('POST', path(orgId), body), r => `added ${caLine(r)}`)
    })
  apiCommand(ca, 'list <org>', 'list the organisation\'s CAs')
    .action(async (orgId: string, options: ClientOptions) => {
      await runApi(ctx, options, async c => await c.request('GET', path(orgId)),
        r => table(r.cas.map((x: any) => ({ ...x, crl: x.crl === null ? null : `${x.crl.revoked_serials} revoked`, crl_source: x.crl_source === null ? null : `${x.crl_source.url as string} every ${x.crl_source.every_seconds as number}s` })),
          ['id', 'kind', 'enabled', 'not_after', 'crl', 'crl_source', 'ocsp_check', 'description']))
    })
  for (const [verb, description] of [['disable', 'stop trusting a CA for new connections (and close its live sessions)'], ['enable', 'trust a disabled CA again']] as const) {
    apiCommand(ca, `${verb} <org> <caId>`, description)
      .action(async (orgId: string, caId: string, options: ClientOptions) => {
        await runApi(ctx, options, async c => await c.request('POST', `${path(orgId, caId)}/${verb}`), r => `${verb}d ${caLine(r)}`)
      })
  }
  apiCommand(ca, 'remove <org> <caId>', 'remove an uploaded CA')
    .action(async (orgId: string, caId: string, options: ClientOptions) => {
      await runApi(ctx, options, async c => await c.request('DELETE', path(orgId, caId)), r => `removed ${caLine(r)}`)
    })
  apiCommand(ca, 'crl-policy <org> <caId> <policy>', 'open|closed: once the CA\'s loaded CRL passes its nextUpdate, keep applying it (open, the default) or refuse the CA\'s devices until a fresh CRL is loaded (closed)')
    .action(async (orgId: string, caId: string, policy: string, options: ClientOptions) => {
      await runApi(ctx, options, async c => await c.request('PUT', `${path(orgId, caId)}/crl-policy`, { policy }), r => `CRL policy ${r.crl_policy as string} for ${caLine(r)}`)
    })
  apiCommand(ca, 'ocsp <org> <caId>', 'on|off: check each device certificate of this uploaded CA against the OCSP responder named in its AIA extension, at each MQTT CONNECT and HTTPS request (answers cached until their nextUpdate, 5 min without one; 3 s timeout; only responders MQGATE_CRL_FETCH_ALLOW allows, when set). Revoked or unknown: refused (BROKER_ERR_CERT_REVOKED / BROKER_ERR_OCSP_UNKNOWN); responder unreachable, slow, malformed or wrongly signed, or no OCSP URL in the certificate: the CA\'s crl-policy decides (open admits, closed refuses with BROKER_ERR_OCSP_UNAVAILABLE)')
    .addArgument(new Argument('<state>').choices(['on', 'off']))
    .action(async (orgId: string, caId: string, state: 'on' | 'off', options: ClientOptions) => {
      await runApi(ctx, options, async c => await c.request('PUT', `${path(orgId, caId)}/ocsp`, { enabled: state === 'on' }), r => `OCSP check ${r.ocsp_check === true ? 'on' : 'off'} for ${caLine(r)}`)
    })
  apiCommand(ca, 'crl <org> <caId> <file>', 'load a CRL (PEM or DER) signed by that CA; its serials are refused from then on')
    .action(async (orgId: string, caId: string, file: string, options: ClientOptions) => {
      await runApi(ctx, options, async c => await c.request('PUT', `${path(orgId, caId)}/crl`, { crl: readUpload(file) }),
        r => `loaded a CRL of ${r.crl.revoked_serials} revoked serial(s) for ${caLine(r)}`)
    })
  apiCommand(ca, 'crl-source <org> <caId>', 'fetch the CA\'s CRL from a URL (or the CRL distribution point its certificates name) on a schedule, and apply each new one as `ca crl` would')
    .option('--url <url>', 'an http:// or https:// URL of the CA\'s CRL')
    .option('--from-certificate [file]', 'take the URL from the CRL Distribution Points of the CA\'s certificate, or of the given device certificate that CA signed')
    .option('--every <duration>', 'how often to fetch, e.g. 30s, 10m, 1h, 1d (1s to 7d; default 1h); also shortly before the loaded CRL\'s nextUpdate', parseDuration)
    .option('--off', 'stop fetching (the CRL loaded last stays)')
    .action(async (orgId: string, caId: string, options: ClientOptions & { url?: string, fromCertificate?: string | boolean, every?: number, off?: boolean }) => {
      const chosen = [options.url !== undefined, options.fromCertificate !== undefined, options.off === true].filter(Boolean).length
      if (chosen !== 1) throw new CertsError('CERTS_ERR_CRL_SOURCE_INVALID', 'give one of --url, --from-certificate or --off')
      if (options.off === true) {
        await runApi(ctx, options, async c => await c.request('DELETE', `${path(orgId, caId)}/crl-source`), r => `no CRL source for ${caLine(r)}`)
        return
      }
      const body = {
        ...(options.url === undefined ? { from_certificate: true } : { url: options.url }),
        ...(typeof options.fromCertificate === 'string' ? { certificate: readUpload(options.fromCertificate) } : {}),
        ...(options.every === undefined ? {} : { every_seconds: options.every })
      }
      await runApi(ctx, options, async c => await c.request('PUT', `${path(orgId, caId)}/crl-source`, body),
        r => `fetching the CRL from ${r.crl_source.url as string} every ${r.crl_source.every_seconds as number}s for ${caLine(r)}`)
    })
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 }

/** `30s`, `10m`, `1h`, `1d` (a bare number is seconds), within the interval's bounds. */
export function parseDuration (value: string): number {
  const match = /^(\d{1,9})([smhd]?)$/.exec(value.trim())
  const seconds = match === null ? NaN : Number(match[1]) * UNITS[match[2] === '' ? 's' : match[2]]
  if (!(seconds >= CRL_SOURCE_EVERY.min && seconds <= CRL_SOURCE_EVERY.max)) throw new InvalidArgumentError('a duration such as 30s, 10m, 1h or 1d, from 1s to 7d')
  return seconds
}
