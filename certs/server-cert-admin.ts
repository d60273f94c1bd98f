import { randomUUID } from 'node:crypto'
import { inspectCertificate, keyMatchesCertificate } from './certificate-facts.js'
import { chainPemOf, readCertificates } from './certificate-input.js'
import { createCsr } from './csr.js'
import { CertsError } from './errors.js'
import { isServerName } from './names.js'
import { issue, orgAuthority } from './issuance.js'
import { serverCertRecordFrom, type Actor, type OrgRegistry } from './org-registry.js'
import { spkiPin } from './pins.js'
import { readPrivateKey } from './private-key.js'
import { activeServerCertOf, type ServerCertRecord } from './records.js'
import { enforce, serverCertRules } from './upload-rules.js'
import { generateKeyPair } from './x509-builder.js'

/**
 * The operator verbs on an organisation's TLS server certificates
 * (`mqgate server-cert ...`): a CSR whose key never leaves the gateway, an
 * upload that completes it (or brings its own key), and activation, which the
 * next handshake uses.
 */

export interface CsrRequest {
  readonly commonName?: string
  readonly sans?: readonly string[]
  /** Keep the active certificate's key, so SPKI pins in mobile apps stay valid across the renewal. */
  readonly reuseKey?: boolean
}

export async function createServerCsr (registry: OrgRegistry, orgId: string, request: CsrRequest, actor: Actor): Promise<ServerCertRecord> {
  const state = registry.require(orgId)
  const commonName = request.commonName ?? registry.serverNameFor(orgId)
  const names = [...new Set([commonName, ...(request.sans ?? [])])]
  for (const name of names) {
    if (!isServerName(name)) throw new CertsError('CERTS_ERR_NAME_INVALID', `"${name.slice(0, 100)}" is neither a DNS name nor an IP address`)
  }
  const keyPem = request.reuseKey === true ? activeServerCertOf(state).keyPem : generateKeyPair('ec').privateKeyPem
  const record: ServerCertRecord = {
    id: randomUUID(),
    status: 'pending',
    keyPem,
    csrPem: createCsr(keyPem, commonName, names),
    certPem: '',
    chainPem: '',
    fingerprint: '',
    spkiPin: spkiPin(keyPem),
    names,
    createdAt: new Date().toISOString()
  }
  await registry.store.put(orgId, 'server-certs', record)
  registry.audit(actor, 'server-cert.csr', orgId, { serverCertId: record.id, names, spkiPin: record.spkiPin, reuseKey: request.reuseKey === true })
  await registry.reload(orgId)
  return record
}

/**
 * A new server certificate from the organisation's managed CA (its key made
 * here, ECDSA P-256), through the one issuance path: recorded as kind
 * `server`, ready to activate.
 */
export async function issueServerCert (registry: OrgRegistry, orgId: string, request: { names?: readonly string[], days?: number }, actor: Actor): Promise<ServerCertRecord> {
  const names = [...new Set([registry.serverNameFor(orgId), ...(request.names ?? [])])]
  const issued = await issue(orgAuthority(registry, orgId), { kind: 'server', profile: 'server', names, keyType: 'ec', days: request.days }, actor)
  const record = serverCertRecordFrom(inspectCertificate(issued.record.certPem), '', issued.keyPem as string, issued.record.issuedOn)
  await registry.store.put(orgId, 'server-certs', record)
  registry.audit(actor, 'server-cert.issue', orgId, { serverCertId: record.id, fingerprint: record.fingerprint, names: record.names, notAfter: record.notAfter })
  await registry.reload(orgId)
  return record
}

export interface UploadRequest {
  /** The certificate PEM, optionally followed by its intermediates (or one DER certificate). */
  readonly certificate: string | Buffer
  /** Its key, when it does not complete a CSR made here. */
  readonly keyPem?: string
  readonly passphrase?: string
}

export async function uploadServerCert (registry: OrgRegistry, orgId: string, upload: UploadRequest, actor: Actor): Promise<ServerCertRecord> {
  const state = registry.require(orgId)
  const [leaf, ...chain] = readCertificates(upload.certificate)
  enforce(serverCertRules(registry.serverNameFor(orgId)), leaf)
  let record: ServerCertRecord
  if (upload.keyPem !== undefined) {
    const keyPem = readPrivateKey(upload.keyPem, upload.passphrase)
    if (!keyMatchesCertificate(leaf, keyPem)) throw new CertsError('CERTS_ERR_KEY_MISMATCH', 'the certificate does not belong to the given key')
    record = serverCertRecordFrom(leaf, chainPemOf(chain), keyPem, new Date().toISOString())
  } else {
    const pending = state.serverCerts.find(s => s.status === 'pending' && keyMatchesCertificate(leaf, s.keyPem))
    if (pending === undefined) {
      throw new CertsError('CERTS_ERR_NO_PENDING_CSR', 'the certificate matches no pending CSR of this organisation; upload it with its key')
    }
    record = { ...serverCertRecordFrom(leaf, chainPemOf(chain), pending.keyPem, pending.createdAt, pending.id), csrPem: pending.csrPem }
  }
  await registry.store.put(orgId, 'server-certs', record)
  registry.audit(actor, 'server-cert.upload', orgId, { serverCertId: record.id, fingerprint: record.fingerprint, names: record.names, notAfter: record.notAfter })
  await registry.reload(orgId)
  return record
}

export async function activateServerCert (registry: OrgRegistry, orgId: string, serverCertId: string, actor: Actor): Promise<ServerCertRecord> {
  const state = registry.require(orgId)
  const record = state.serverCerts.find(s => s.id === serverCertId)
  if (record === undefined) throw new CertsError('CERTS_ERR_SERVER_CERT_NOT_FOUND', `no server certificate ${serverCertId} in organisation ${orgId}`)
  if (record.status === 'pending') throw new CertsError('CERTS_ERR_SERVER_CERT_PENDING', 'upload the signed certificate for this CSR before activating it')
  if (record.notAfter !== undefined && new Date(record.notAfter) < new Date()) throw new CertsError('CERTS_ERR_CERT_EXPIRED', 'the server certificate has expired')
  await registry.store.updateOrg({ ...state.org, activeServerCertId: record.id })
  registry.audit(actor, 'server-cert.activate', orgId, { serverCertId: record.id, fingerprint: record.fingerprint })
  await registry.reload(orgId)
  return record
}
