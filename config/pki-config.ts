import { serverNameOf } from '../access/index.js'
import { BRIDGE_DEFAULTS } from '../bridge/index.js'
import { allowEntryProblem } from '../certs/index.js'
import type { EnvReader } from './env-reader.js'

/**
 * The revocation settings of the configuration (issue 16): the PKI HTTP
 * port, the CRL and OCSP URLs written into certificates, and where fetches
 * of URLs taken from certificates may go. Read by loadConfig
 * (gateway-config.ts), whose GatewayConfig documents each field.
 */

export const PKI_HTTP_DEFAULT_PORT = 8080

export interface PkiConfig {
  readonly pkiHttp: { readonly port: number, readonly host?: string }
  readonly crlUrlTemplate: string
  readonly ocspUrlTemplate?: string
  readonly crlFetchAllow?: readonly string[]
}

export function readPkiConfig (read: EnvReader, domain: string, apiPort: number): PkiConfig {
  const pkiPort = read.integer('MQGATE_PKI_HTTP_PORT', PKI_HTTP_DEFAULT_PORT, 0, 65535)
  return {
    pkiHttp: Object.freeze({ port: pkiPort, host: read.optionalString('MQGATE_PKI_HTTP_HOST') }),
    crlUrlTemplate: crlUrlTemplateOf(read, domain, apiPort, pkiPort),
    ...ocspUrlTemplateOf(read, domain, pkiPort),
    ...readCrlFetchAllow(read)
  }
}

function readCrlFetchAllow (read: EnvReader): { crlFetchAllow?: readonly string[] } {
  const value = read.optionalString('MQGATE_CRL_FETCH_ALLOW')
  if (value === undefined) return {}
  const entries = value.split(',').map(e => e.trim()).filter(e => e !== '')
  for (const entry of entries) {
    const problem = allowEntryProblem(entry)
    read.require(problem === undefined, `MQGATE_CRL_FETCH_ALLOW: ${problem ?? ''}`)
  }
  read.require(entries.length > 0, 'MQGATE_CRL_FETCH_ALLOW names no host or address (unset it to allow any)')
  return { crlFetchAllow: Object.freeze(entries) }
}

/** RFC 5280 4.2.1.13 expects a CRL over HTTP: the PKI port's when it is on, the temps API's HTTPS route otherwise. */
function crlUrlTemplateOf (read: EnvReader, domain: string, apiPort: number, pkiPort: number): string {
  const fallback = pkiPort === 0
    ? `https://${serverNameOf('{org}', domain)}:${apiPort === 0 ? BRIDGE_DEFAULTS.apiPort : apiPort}/crl/{org}.crl`
    : `http://${serverNameOf('{org}', domain)}:${pkiPort}/crl/{org}.crl`
  const template = read.string('MQGATE_CRL_URL', fallback)
  read.require(/^https?:\/\/\S+$/.test(template), 'MQGATE_CRL_URL must be an http(s) URL')
  return template
}

/** MQGATE_OCSP_URL=none names no responder (and staples nothing) even with the PKI port on. */
function ocspUrlTemplateOf (read: EnvReader, domain: string, pkiPort: number): { ocspUrlTemplate?: string } {
  const fallback = pkiPort === 0 ? 'none' : `http://${serverNameOf('{org}', domain)}:${pkiPort}/ocsp/{org}`
  const template = read.string('MQGATE_OCSP_URL', fallback)
  read.require(template === 'none' || /^https?:\/\/\S+$/.test(template), 'MQGATE_OCSP_URL must be an http(s) URL, or none')
  return template === 'none' ? {} : { ocspUrlTemplate: template }
}
