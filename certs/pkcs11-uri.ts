import { CertsError } from './errors.js'

/**
 * The PKCS#11 URIs (RFC 7512) that name a CA key in a token, e.g.
 * `pkcs11:token=mqgate;object=acme-ca` or `pkcs11:token=mqgate;id=%01%02`.
 * Only the path attributes that select a key are read (token, object, id,
 * type); query attributes (`?pin-value=...`) are refused, so a PIN never sits
 * in the registry beside the key's name.
 */

export interface Pkcs11KeyName {
  /** The token's label (CKA_LABEL of the token, RFC 7512 2.3 "token"). */
  readonly token: string
  /** The key's CKA_LABEL. */
  readonly object?: string
  /** The key's CKA_ID, as bytes. */
  readonly id?: Buffer
}

const PATH_ATTRIBUTES = new Set(['token', 'object', 'id', 'type', 'manufacturer', 'model', 'serial', 'library-manufacturer', 'library-description', 'library-version', 'slot-description', 'slot-manufacturer', 'slot-id'])

export function isPkcs11Uri (value: string): boolean {
  return value.startsWith('pkcs11:')
}

export function parsePkcs11Uri (uri: string): Pkcs11KeyName {
  const invalid = (why: string): CertsError => new CertsError('CERTS_ERR_HSM_URI_INVALID', `not a usable PKCS#11 key URI (RFC 7512): ${why}`)
  if (!isPkcs11Uri(uri) || uri.length > 1000) throw invalid('it must start with "pkcs11:"')
  if (uri.includes('?')) throw invalid('query attributes (pin-value, module-path) are not accepted: the module and PIN come from MQGATE_PKCS11_MODULE and MQGATE_PKCS11_PIN')
  const attributes = new Map<string, Buffer>()
  for (const part of uri.slice('pkcs11:'.length).split(';').filter(p => p !== '')) {
    const eq = part.indexOf('=')
    const name = eq < 0 ? part : part.slice(0, eq)
    if (!PATH_ATTRIBUTES.has(name)) throw invalid(`unknown attribute "${name.slice(0, 40)}"`)
    if (attributes.has(name)) throw invalid(`"${name}" given twice`)
    attributes.set(name, percentDecode(eq < 0 ? '' : part.slice(eq + 1), invalid))
  }
  const token = attributes.get('token')?.toString('utf8')
  const object = attributes.get('object')?.toString('utf8')
  const id = attributes.get('id')
  const type = attributes.get('type')?.toString('utf8')
  if (token === undefined || token === '') throw invalid('token=<label> is required')
  if ((object === undefined || object === '') && (id === undefined || id.length === 0)) throw invalid('object=<label> or id=<%xx bytes> is required')
  if (type !== undefined && type !== 'private') throw invalid('type must be "private" (the CA\'s signing key) when given')
  return { token, ...(object === undefined || object === '' ? {} : { object }), ...(id === undefined || id.length === 0 ? {} : { id }) }
}

/** RFC 7512 2.3: values are UTF-8 with %XX escapes (id= is usually all escapes). */
function percentDecode (value: string, invalid: (why: string) => CertsError): Buffer {
  if (/%(?![0-9A-Fa-f]{2})/.test(value)) throw invalid('a "%" not followed by two hex digits')
  const bytes: number[] = []
  for (let i = 0; i < value.length;) {
    if (value[i] === '%') {
      bytes.push(parseInt(value.slice(i + 1, i + 3), 16))
      i += 3
    } else {
      const char = String.fromCodePoint(value.codePointAt(i) as number)
      bytes.push(...Buffer.from(char, 'utf8'))
      i += char.length
    }
  }
  return Buffer.from(bytes)
}
