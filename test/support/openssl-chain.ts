import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { openssl, type OpensslCa } from './openssl.js'

/**
 * A PKI as operators build it with the openssl command line: a root kept
 * offline, intermediates under it, device certificates under those, and the
 * CRL of any CA. P-256 keys, so that a chain of five takes no time to make.
 * Each CA lives in its own directory (its CRL database is per CA).
 */

export interface ChainCa extends OpensslCa {
  readonly name: string
  readonly serial: string
}

export interface ChainLeaf {
  readonly certFile: string
  readonly keyFile: string
  readonly certPem: string
  readonly keyPem: string
  readonly serial: string
}

const CA_EXTENSIONS = 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n'
const LEAF_EXTENSIONS = 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n'

function serialOf (certFile: string): string {
  return openssl(['x509', '-in', certFile, '-noout', '-serial']).trim().replace(/^serial=/, '')
}

/** A self-signed root CA. */
export function chainRoot (base: string, name: string): ChainCa {
  const dir = path.join(base, name)
  mkdirSync(dir, { recursive: true })
  const keyFile = path.join(dir, 'ca.key')
  const certFile = path.join(dir, 'ca.pem')
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '30',
    '-subj', `/CN=${name}/O=chain tests`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
  return { dir, name, certFile, keyFile, certPem: readFileSync(certFile, 'utf8'), serial: serialOf(certFile) }
}

function signed (issuer: OpensslCa, dir: string, subject: string, extensions: string): { certFile: string, keyFile: string } {
  mkdirSync(dir, { recursive: true })
  const keyFile = path.join(dir, 'key.pem')
  const csrFile = path.join(dir, 'req.csr')
  const extFile = path.join(dir, 'ext.cnf')
  const certFile = path.join(dir, 'cert.pem')
  writeFileSync(extFile, extensions)
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', csrFile, '-subj', subject])
  openssl(['x509', '-req', '-in', csrFile, '-CA', issuer.certFile, '-CAkey', issuer.keyFile, '-CAcreateserial', '-out', certFile, '-days', '20', '-extfile', extFile, '-sha256'])
  return { certFile, keyFile }
}

/** An intermediate CA signed by `issuer`. */
export function chainIntermediate (issuer: OpensslCa, base: string, name: string): ChainCa {
  const dir = path.join(base, name)
  const { certFile, keyFile } = signed(issuer, dir, `/CN=${name}/O=chain tests`, CA_EXTENSIONS)
  return { dir, name, certFile, keyFile, certPem: readFileSync(certFile, 'utf8'), serial: serialOf(certFile) }
}

/** A delegated OCSP responder certificate of `issuer` (RFC 6960 4.2.2.2: extendedKeyUsage OCSPSigning). */
export function chainOcspSigner (issuer: OpensslCa, base: string, name: string): ChainLeaf {
  const { certFile, keyFile } = signed(issuer, path.join(base, name), `/CN=${name}/O=chain tests`, 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=OCSPSigning\n')
  return { certFile, keyFile, certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8'), serial: serialOf(certFile) }
}

/** A device certificate (CN as given) signed by `issuer`; `extensions` are added to the usual ones (an authorityInfoAccess line). */
export function chainLeaf (issuer: OpensslCa, base: string, name: string, commonName: string, extensions = ''): ChainLeaf {
  const { certFile, keyFile } = signed(issuer, path.join(base, name), `/CN=${commonName}`, LEAF_EXTENSIONS + extensions)
  return { certFile, keyFile, certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8'), serial: serialOf(certFile) }
}

/** Concatenates PEM files into one (leaf first, as `mosquitto_pub --cert` and TLS want it). */
export function pemBundle (file: string, parts: ReadonlyArray<{ certPem: string }>): string {
  writeFileSync(file, parts.map(p => p.certPem.trim() + '\n').join(''))
  return file
}

/**
 * A CRL of `ca` listing `serials` (hex), made by `openssl ca -gencrl`;
 * `lastUpdate`/`nextUpdate` may be set (an expired CRL has its nextUpdate in the past).
 */
export function chainCrl (ca: OpensslCa, serials: readonly string[], times: { lastUpdate?: Date, nextUpdate?: Date } = {}): string {
  const stamp = (d: Date): string => d.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z'
  const now = new Date()
  const later = new Date(now.getTime() + 30 * 24 * 3600 * 1000)
  const padded = (s: string): string => (s.length % 2 === 0 ? s : '0' + s).toUpperCase()
  const index = path.join(ca.dir, 'index.txt')
  writeFileSync(index, serials.map(s => `R\t${stamp(later)}\t${stamp(now)}\t${padded(s)}\tunknown\t/CN=revoked\n`).join(''))
  writeFileSync(path.join(ca.dir, 'crlnumber'), '01\n')
  const config = path.join(ca.dir, 'crl.cnf')
  writeFileSync(config, ['[ ca ]', 'default_ca = CA_default', '[ CA_default ]', `database = ${index}`, `crlnumber = ${path.join(ca.dir, 'crlnumber')}`,
    `certificate = ${ca.certFile}`, `private_key = ${ca.keyFile}`, 'default_md = sha256', 'default_crl_days = 30', ''].join('\n'))
  const out = path.join(ca.dir, `crl-${Date.now()}-${Math.random().toString(16).slice(2)}.pem`)
  openssl(['ca', '-gencrl', '-config', config, '-out', out,
    ...(times.lastUpdate === undefined ? [] : ['-crl_lastupdate', stamp(times.lastUpdate)]),
    ...(times.nextUpdate === undefined ? [] : ['-crl_nextupdate', stamp(times.nextUpdate)])])
  return out
}
