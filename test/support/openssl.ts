import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'

/**
 * The openssl command line, as operators use it: CAs, CSRs, CRLs and
 * verification made by a second, independent implementation.
 */

export function openssl (args: readonly string[], options: { cwd?: string, input?: string | Buffer } = {}): string {
  try {
    return execFileSync('openssl', args, { cwd: options.cwd, input: options.input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] })
  } catch (err: any) {
    throw new Error(`openssl ${args.join(' ')} failed: ${String(err.stderr ?? err.message)}`)
  }
}

export interface OpensslCa {
  readonly dir: string
  readonly certFile: string
  readonly keyFile: string
  readonly certPem: string
}

/** A root CA made with `openssl req -x509` (basicConstraints CA:TRUE, keyUsage keyCertSign/cRLSign unless told otherwise). */
export function opensslCa (dir: string, name: string, options: { keyUsage?: string } = {}): OpensslCa {
  const certFile = path.join(dir, `${name}.crt`)
  const keyFile = path.join(dir, `${name}.key`)
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '30', '-subj', `/CN=${name}/O=openssl tests`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', `keyUsage=${options.keyUsage ?? 'critical,keyCertSign,cRLSign'}`])
  return { dir, certFile, keyFile, certPem: readFileSync(certFile, 'utf8') }
}

/** A key and a CSR made with `openssl req`. */
export function opensslCsr (dir: string, name: string, subject: string): { csrFile: string, keyFile: string, csrPem: string, keyPem: string } {
  const csrFile = path.join(dir, `${name}.csr`)
  const keyFile = path.join(dir, `${name}.key`)
  openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', csrFile, '-subj', subject])
  return { csrFile, keyFile, csrPem: readFileSync(csrFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8') }
}

/** Signs a CSR with an openssl CA; `extensions` is an openssl extfile body. */
export function opensslSign (ca: OpensslCa, csrFile: string, name: string, extensions: string, days = 30): { certFile: string, certPem: string, serial: string } {
  const extFile = path.join(ca.dir, `${name}.ext`)
  writeFileSync(extFile, extensions)
  const certFile = path.join(ca.dir, `${name}.crt`)
  openssl(['x509', '-req', '-in', csrFile, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial', '-out', certFile, '-days', String(days), '-extfile', extFile, '-sha256'])
  const serial = openssl(['x509', '-in', certFile, '-noout', '-serial']).trim().replace(/^serial=/, '')
  return { certFile, certPem: readFileSync(certFile, 'utf8'), serial }
}

export const CLIENT_EXTENSIONS = 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n'

/** A device certificate of an openssl CA: key, CSR and signature, all by openssl. */
export function opensslClientCert (ca: OpensslCa, name: string, commonName: string): { certPem: string, keyPem: string, serial: string, certFile: string } {
  const csr = opensslCsr(ca.dir, name, `/CN=${commonName}`)
  const signed = opensslSign(ca, csr.csrFile, name, CLIENT_EXTENSIONS)
  return { certPem: signed.certPem, keyPem: csr.keyPem, serial: signed.serial, certFile: signed.certFile }
}

/** A CRL signed by the CA listing `serials` (hex), made by `openssl ca -gencrl`. */
export function opensslCrl (ca: OpensslCa, serials: readonly string[], format: 'PEM' | 'DER' = 'PEM'): { crlFile: string } {
  const stamp = (d: Date): string => d.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z'
  const now = new Date()
  const later = new Date(now.getTime() + 30 * 24 * 3600 * 1000)
  const padded = (s: string): string => (s.length % 2 === 0 ? s : '0' + s).toUpperCase()
  writeFileSync(path.join(ca.dir, 'index.txt'), serials.map(s => `R\t${stamp(later)}\t${stamp(now)}\t${padded(s)}\tunknown\t/CN=revoked\n`).join(''))
  writeFileSync(path.join(ca.dir, 'crlnumber'), '01\n')
  const config = path.join(ca.dir, 'crl.cnf')
  writeFileSync(config, [
    '[ ca ]', 'default_ca = CA_default', '[ CA_default ]', `database = ${path.join(ca.dir, 'index.txt')}`,
    `crlnumber = ${path.join(ca.dir, 'crlnumber')}`, `certificate = ${ca.certFile}`, `private_key = ${ca.keyFile}`,
    'default_md = sha256', 'default_crl_days = 30', ''
  ].join('\n'))
  const pemFile = path.join(ca.dir, 'ca.crl.pem')
  openssl(['ca', '-gencrl', '-config', config, '-out', pemFile])
  if (format === 'PEM') return { crlFile: pemFile }
  const derFile = path.join(ca.dir, 'ca.crl.der')
  openssl(['crl', '-in', pemFile, '-outform', 'DER', '-out', derFile])
  return { crlFile: derFile }
}

/** `openssl verify -CAfile`: true when the chain verifies. */
export function opensslVerifies (caFile: string, certFile: string): boolean {
  try {
    return openssl(['verify', '-CAfile', caFile, certFile]).includes(': OK')
  } catch {
    return false
  }
}

/** The SHA-256 SPKI pin, computed the way pinning guides do it with openssl. */
export function opensslSpkiPin (certFile: string): string {
  const publicKey = openssl(['x509', '-in', certFile, '-noout', '-pubkey'])
  const der = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'DER'], { input: publicKey })
  return execFileSync('openssl', ['dgst', '-sha256', '-binary'], { input: der }).toString('base64')
}
