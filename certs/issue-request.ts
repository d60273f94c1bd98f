import { readCsr } from './csr.js'
import { CertsError } from './errors.js'
import type { IssueRequest } from './issuer.js'

/**
 * An issuance request as callers send it: Cloudflare's shape names no CN (it
 * is in the CSR), mqgate's native one may give it or leave it to the CSR.
 */
export interface IssueInput {
  readonly commonName?: string
  readonly csrPem?: string
  readonly days?: number
}

/**
 * The request issueClientCert takes, with the CN taken from the CSR's subject
 * when none was given. The identity rules (d:<type>:<id>, ...) still apply
 * to it there, so a CSR naming anything else is refused with CERTS_ERR_NAME_INVALID.
 */
export function resolveIssueRequest (input: IssueInput): IssueRequest {
  const { commonName, csrPem, days } = input
  const withDays = days === undefined ? {} : { days }
  if (commonName !== undefined) return { commonName, ...(csrPem === undefined ? {} : { csrPem }), ...withDays }
  if (csrPem === undefined) {
    throw new CertsError('CERTS_ERR_NAME_INVALID', 'give a CN (d:<type>:<id>, g:<type>:<id> or a:<app>), or a CSR whose subject CN is one')
  }
  const fromCsr = readCsr(csrPem).commonName
  if (fromCsr === undefined) {
    throw new CertsError('CERTS_ERR_NAME_INVALID', 'the CSR\'s subject has no CN: it must name the identity (d:<type>:<id>, g:<type>:<id> or a:<app>)')
  }
  return { commonName: fromCsr, csrPem, ...withDays }
}
