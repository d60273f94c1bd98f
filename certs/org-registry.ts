import { EventEmitter } from 'node:events'
import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { CertsError } from './errors.js'
import { isValidOrgId } from './names.js'
import { inspectCertificate, keyMatchesCertificate, splitPemCertificates, type CertificateFacts } from './certificate-facts.js'
import { createManagedCa, createServerCertificate } from './profiles.js'
import { managedCaOf, type CaRecord, type OrgState, type ServerCertRecord } from './records.js'
import type { RegistryStore } from './registry-store.js'

export interface RegistryOptions {
  /** `<org>.messaging.<domain>` names each organisation's server certificate. */
  readonly domain: string
  readonly log: Logger
}

/**
 * The organisations, their CAs and server certificates, held in memory for the
 * TLS layer (no I/O in the SNI callback) and kept in step with the store.
 * Emits `changed(orgId)` after any change, made here or by another process.
 */
export class OrgRegistry extends EventEmitter<{ changed: [orgId: string] }> {
  private readonly orgs = new Map<string, OrgState>()
  private unwatch: () => Promise<void> = async () => {}

  private constructor (private readonly store: RegistryStore, readonly options: RegistryOptions) {
    super()
  }

  static async open (store: RegistryStore, options: RegistryOptions): Promise<OrgRegistry> {
    const registry = new OrgRegistry(store, options)
    await registry.reload()
    registry.unwatch = await store.watch(orgId => {
      registry.reload(orgId).catch(err => options.log.error({ err, orgId }, 'registry reload failed'))
    })
    return registry
  }

  get (orgId: string): OrgState | undefined {
    return this.orgs.get(orgId)
  }

  require (orgId: string): OrgState {
    const state = this.orgs.get(orgId)
    if (state === undefined) throw new CertsError('CERTS_ERR_ORG_NOT_FOUND', `organisation ${orgId} does not exist`)
    return state
  }

  list (): OrgState[] {
    return [...this.orgs.values()]
  }

  serverNameFor (orgId: string): string {
    return `${orgId}.messaging.${this.options.domain}`
  }

  /** A new organisation with its managed CA and a server certificate for `<org>.messaging.<domain>` (plus `extraNames`). */
  async createOrg (orgId: string, extraNames: readonly string[] = []): Promise<OrgState> {
    if (!isValidOrgId(orgId)) {
      throw new CertsError('CERTS_ERR_ORG_INVALID', 'an organisation id is 1-63 characters of a-z, 0-9 and "-", not starting or ending with "-"')
    }
    if (this.orgs.has(orgId)) throw new CertsError('CERTS_ERR_ORG_EXISTS', `organisation ${orgId} already exists`)
    const now = new Date().toISOString()
    const ca = createManagedCa(orgId)
    const caRecord = caRecordFrom(inspectCertificate(ca.certPem), { kind: 'managed', keyPem: ca.keyPem, description: 'managed by mqgate', addedAt: now })
    const server = createServerCertificate(ca, [this.serverNameFor(orgId), ...extraNames])
    const serverRecord = serverCertRecordFrom(server.certPem, '', server.keyPem, now)
    const state: OrgState = {
      org: { id: orgId, createdAt: now, managedCaId: caRecord.id, activeServerCertId: serverRecord.id },
      cas: [caRecord],
      serverCerts: [serverRecord]
    }
    await this.store.createOrg(state)
    this.options.log.info({ event: 'org.created', orgId, caFingerprint: caRecord.fingerprint, serverCertFingerprint: serverRecord.fingerprint }, 'organisation created')
    this.apply(orgId, state)
    return state
  }

  /** Trusts an operator CA for the organisation's client certificates (active at once). */
  async addCa (orgId: string, certPem: string, description = ''): Promise<CaRecord> {
    const state = this.require(orgId)
    const facts = inspectCertificate(certPem)
    if (!facts.isCA) throw new CertsError('CERTS_ERR_NOT_A_CA', 'the certificate is not a CA (basicConstraints CA:TRUE is missing)')
    if (state.cas.some(c => c.fingerprint === facts.fingerprint)) {
      throw new CertsError('CERTS_ERR_CA_EXISTS', 'this CA is already registered for the organisation')
    }
    const record = caRecordFrom(facts, { kind: 'uploaded', description, addedAt: new Date().toISOString() })
    await this.store.putCa(orgId, record)
    this.options.log.info({ event: 'ca.added', orgId, caId: record.id, subject: record.subject, fingerprint: record.fingerprint, notAfter: record.notAfter }, 'CA added')
    await this.reload(orgId)
    return record
  }

  async setCaEnabled (orgId: string, caId: string, enabled: boolean): Promise<CaRecord> {
    const ca = this.require(orgId).cas.find(c => c.id === caId)
    if (ca === undefined) throw new CertsError('CERTS_ERR_CA_NOT_FOUND', `no CA ${caId} in organisation ${orgId}`)
    const updated = { ...ca, enabled }
    await this.store.putCa(orgId, updated)
    this.options.log.info({ event: enabled ? 'ca.enabled' : 'ca.disabled', orgId, caId, fingerprint: ca.fingerprint }, enabled ? 'CA enabled' : 'CA disabled')
    await this.reload(orgId)
    return updated
  }

  /** Stores a server certificate with its key and, when `activate`, serves it from the next handshake on. */
  async addServerCertificate (orgId: string, certPem: string, keyPem: string, options: { chainPem?: string, activate?: boolean } = {}): Promise<ServerCertRecord> {
    const state = this.require(orgId)
    const record = serverCertRecordFrom(certPem, options.chainPem ?? '', keyPem, new Date().toISOString())
    await this.store.putServerCert(orgId, record)
    if (options.activate === true) await this.store.updateOrg({ ...state.org, activeServerCertId: record.id })
    this.options.log.info({ event: 'server-cert.added', orgId, serverCertId: record.id, names: record.names, fingerprint: record.fingerprint, notAfter: record.notAfter, active: options.activate === true }, 'server certificate added')
    await this.reload(orgId)
    return record
  }

  /** The managed CA that signs this organisation's server and client certificates. */
  signerOf (orgId: string): { certPem: string, keyPem: string } {
    const ca = managedCaOf(this.require(orgId))
    return { certPem: ca.certPem, keyPem: ca.keyPem as string }
  }

  /** Re-reads one organisation (or all) from the store and reports what changed. */
  async reload (orgId?: string): Promise<void> {
    const ids = orgId === undefined ? await this.store.listOrgIds() : [orgId]
    if (orgId === undefined) {
      for (const known of [...this.orgs.keys()]) if (!ids.includes(known)) this.apply(known, undefined)
    }
    for (const id of ids) this.apply(id, await this.store.readOrg(id))
  }

  async close (): Promise<void> {
    await this.unwatch()
    await this.store.close()
  }

  private apply (orgId: string, state: OrgState | undefined): void {
    const before = this.orgs.get(orgId)
    if (state === undefined) this.orgs.delete(orgId)
    else this.orgs.set(orgId, state)
    if (JSON.stringify(before) !== JSON.stringify(state)) this.emit('changed', orgId)
  }
}

function caRecordFrom (facts: CertificateFacts, extra: Pick<CaRecord, 'kind' | 'description' | 'addedAt'> & { keyPem?: string }): CaRecord {
  return {
    id: randomUUID(),
    certPem: facts.x509.toString(),
    fingerprint: facts.fingerprint,
    subject: facts.subject,
    notAfter: facts.notAfter.toISOString(),
    enabled: true,
    ...extra
  }
}

function serverCertRecordFrom (certPem: string, chainPem: string, keyPem: string, createdAt: string): ServerCertRecord {
  const [leafPem] = splitPemCertificates(certPem)
  const facts = inspectCertificate(leafPem ?? certPem)
  if (!keyMatchesCertificate(facts, keyPem)) {
    throw new CertsError('CERTS_ERR_KEY_MISMATCH', 'the server certificate does not belong to the given private key')
  }
  return {
    id: randomUUID(),
    certPem: facts.x509.toString(),
    chainPem,
    keyPem,
    fingerprint: facts.fingerprint,
    names: [...new Set([...facts.subjectCommonNames, ...facts.sanDnsNames, ...facts.sanIps])],
    notAfter: facts.notAfter.toISOString(),
    createdAt
  }
}
