import forge from 'node-forge'
import { decodeDirectoryString } from './certificate-facts.js'
import { csrSubjectName } from './csr.js'

/**
 * The subject a requester wrote into a CSR, attribute by attribute: what
 * Cloudflare's client certificate object reports as organization,
 * organizational_unit, country, state and location ("provided by the CSR").
 * The issued certificate itself names only the identity CN (design.md).
 * The CSR's signature is checked where it is signed (csr.ts readCsr); this
 * reads a CSR already on the record.
 */
export interface CsrSubject {
  readonly commonName: string
  readonly organization: string
  readonly organizationalUnit: string
  readonly country: string
  readonly state: string
  readonly locality: string
}

/** X.520 attribute types (RFC 5280 §4.1.2.4). */
const ATTRIBUTES: Readonly<Record<string, keyof CsrSubject>> = {
  '2.5.4.3': 'commonName',
  '2.5.4.10': 'organization',
  '2.5.4.11': 'organizationalUnit',
  '2.5.4.6': 'country',
  '2.5.4.8': 'state',
  '2.5.4.7': 'locality'
}

type Asn1 = forge.asn1.Asn1

/** Each field as written; several values of one type joined with ", "; "" when absent. */
export function readCsrSubject (pem: string): CsrSubject {
  const found: Record<keyof CsrSubject, string[]> = { commonName: [], organization: [], organizationalUnit: [], country: [], state: [], locality: [] }
  for (const rdn of csrSubjectName(pem).value as Asn1[]) {
    for (const attribute of rdn.value as Asn1[]) {
      const [oid, value] = attribute.value as Asn1[]
      const field = ATTRIBUTES[forge.asn1.derToOid(oid.value as string)]
      if (field !== undefined) found[field].push(decodeDirectoryString(value))
    }
  }
  const joined = (field: keyof CsrSubject): string => found[field].join(', ')
  return {
    commonName: joined('commonName'),
    organization: joined('organization'),
    organizationalUnit: joined('organizationalUnit'),
    country: joined('country'),
    state: joined('state'),
    locality: joined('locality')
  }
}
