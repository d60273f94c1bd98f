import { Argument, type Command } from 'commander'
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
        r => table(r.cas.map((x: any) => ({ ...x, crl: x.crl === null ? null : `${x.crl.revoked_serials} revoked` })), ['id', 'kind', 'enabled', 'not_after', 'crl', 'ocsp_check', 'description']))
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
  apiCommand(ca, 'ocsp <org> <caId>', 'on|off: check each device certificate of this uploaded CA against the OCSP responder named in its AIA extension, at each MQTT CONNECT and HTTPS request (answers cached until their nextUpdate, 5 min without one; 3 s timeout). Revoked or unknown: refused (BROKER_ERR_CERT_REVOKED / BROKER_ERR_OCSP_UNKNOWN); responder unreachable, slow, malformed or wrongly signed, or no OCSP URL in the certificate: the CA\'s crl-policy decides (open admits, closed refuses with BROKER_ERR_OCSP_UNAVAILABLE)')
    .addArgument(new Argument('<state>').choices(['on', 'off']))
    .action(async (orgId: string, caId: string, state: 'on' | 'off', options: ClientOptions) => {
      await runApi(ctx, options, async c => await c.request('PUT', `${path(orgId, caId)}/ocsp`, { enabled: state === 'on' }), r => `OCSP check ${r.ocsp_check === true ? 'on' : 'off'} for ${caLine(r)}`)
    })
  apiCommand(ca, 'crl <org> <caId> <file>', 'load a CRL (PEM or DER) signed by that CA; its serials are refused from then on')
    .action(async (orgId: string, caId: string, file: string, options: ClientOptions) => {
      await runApi(ctx, options, async c => await c.request('PUT', `${path(orgId, caId)}/crl`, { crl: readUpload(file) }),
        r => `loaded a CRL of ${r.crl.revoked_serials} revoked serial(s) for ${caLine(r)}`)
    })
}
