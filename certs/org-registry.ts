import { EventEmitter } from 'node:events'
import { createPrivateKey, randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { CertsError } from './errors.js'
import { isValidOrgId } from './names.js'
import { inspectCertificate, type CertificateFacts } from './certificate-facts.js'
import { spkiPin } from './pins.js'
import { issue, type Authority } from './issuance.js'
import { createManagedCa } from './profiles.js'
import { managedCaOf, type CaRecord, type IssuedCertRecord, type OrgState, type ServerCertRecord } from './records.js'
import { localSigner, type CaKeyType, type CaSigner } from './signer.js'
import type { RegistryStore } from './registry-store.js'

export interface RegistryOptions {
  /** `<org>.messaging.<domain>` names each organisation's server certificate. */
  readonly domain: string
  readonly log: Logger
  /** Where the organisation's CRL is published, put in the certificates its managed CA signs. */
  readonly crlUrlFor?: (orgId: string) => string
}

/** Who made a change, for the audit line every change writes. */
export type Actor = string

/**
 * The organisations, their CAs, server certificates, revocations and gateway
 * scopes, held in memory for the TLS layer (no I/O in the SNI callback) and
 * kept in step with the store. Emits `changed(orgId)` after any change, made
 * here or by another process. The operator verbs live beside it
 * (ca-admin.ts, server-cert-admin.ts, issuer.ts, gateway-scopes.ts) and write
 * through `store`, then `refresh`.
 */
export class OrgRegistry extends EventEmitter<{ changed: [orgId: string] }> {
  private readonly orgs = new Map<string, OrgState>()
  private unwatch: () => Promise<void> = async () => {}

  private constructor (readonly store: RegistryStore, readonly options: RegistryOptions) {
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
    return [...this.orgs.values()].sort((a, b) => a.org.id < b.org.id ? -1 : 1)
  }

  serverNameFor (orgId: string): string {
    return `${orgId}.messaging.${this.options.domain}`
  }

  /**
   * A new organisation with its managed CA (of `caKeyType`, RSA-2048 by
   * default) and a server certificate for `<org>.messaging.<domain>` (plus
   * `extraNames`), issued and recorded like every certificate the CA signs.
   */
  async createOrg (orgId: string, extraNames: readonly string[] = [], actor: Actor = 'system', options: { caKeyType?: CaKeyType } = {}): Promise<OrgState> {
    if (!isValidOrgId(orgId)) {
      throw new CertsError('CERTS_ERR_ORG_INVALID', 'an organisation id is 1-63 characters of a-z, 0-9 and "-", not starting or ending with "-"')
    }
    if (this.orgs.has(orgId)) throw new CertsError('CERTS_ERR_ORG_EXISTS', `organisation ${orgId} already exists`)
    const now = new Date().toISOString()
    const ca = await createManagedCa(orgId, { keyType: options.caKeyType })
    const caRecord = caRecordFrom(inspectCertificate(ca.certPem), { kind: 'managed', keyPem: ca.keyPem, description: 'managed by mqgate', addedAt: now })
    // The organisation is stored with its server certificate, so that record and audit line wait until it exists.
    const pending: IssuedCertRecord[] = []
    const audits: Array<() => void> = []
    const authority: Authority = {
      caId: caRecord.id,
      signer: signerFor(caRecord),
      crlUrl: this.options.crlUrlFor?.(orgId),
      record: async record => { pending.push(record) },
      audit: (who, action, fields) => audits.push(() => this.audit(who, action, orgId, fields))
    }
    const server = await issue(authority, { kind: 'server', profile: 'server', names: [this.serverNameFor(orgId), ...extraNames], keyType: 'ec' }, actor)
    const serverRecord = serverCertRecordFrom(inspectCertificate(server.record.certPem), '', server.keyPem as string, now)
    const state: OrgState = {
      org: { id: orgId, createdAt: now, managedCaId: caRecord.id, activeServerCertId: serverRecord.id },
      cas: [caRecord],
      serverCerts: [serverRecord],
      revocations: [],
      gateways: []
    }
    await this.store.createOrg(state)
    for (const record of pending) await this.store.put(orgId, 'issued', record, { quiet: true })
    this.audit(actor, 'org.create', orgId, { caFingerprint: caRecord.fingerprint, caKeyType: signerFor(caRecord).keyType, fingerprint: serverRecord.fingerprint })
    for (const line of audits) line()
    this.apply(orgId, state)
    return state
  }

  /** The managed CA that signs this organisation's certificates and CRL; its key stays inside the signer. */
  signerOf (orgId: string): CaSigner {
    return signerFor(managedCaOf(this.require(orgId)))
  }

  /** Writes one audit line: who changed what, with the fingerprint of the certificate concerned. */
  audit (actor: Actor, action: string, orgId: string, fields: Record<string, unknown> = {}): void {
    this.options.log.info({ event: 'audit', actor, action, orgId, ...fields }, action)
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

export function caRecordFrom (facts: CertificateFacts, extra: Pick<CaRecord, 'kind' | 'description' | 'addedAt'> & { keyPem?: string }): CaRecord {
  return {
    id: randomUUID(),
    certPem: facts.x509.toString(),
    fingerprint: facts.fingerprint,
    subject: facts.subject,
    notBefore: facts.notBefore.toISOString(),
    notAfter: facts.notAfter.toISOString(),
    enabled: true,
    ...extra
  }
}

export function serverCertRecordFrom (facts: CertificateFacts, chainPem: string, keyPem: string, createdAt: string, id: string = randomUUID()): ServerCertRecord {
  return {
    id,
    status: 'ready',
    keyPem,
    certPem: facts.x509.toString(),
    chainPem,
    fingerprint: facts.fingerprint,
    spkiPin: spkiPin(keyPem),
    names: [...new Set([...facts.subjectCommonNames, ...facts.sanDnsNames, ...facts.sanIps])],
    notAfter: facts.notAfter.toISOString(),
    createdAt
  }
}

const signers = new WeakMap<CaRecord, CaSigner>()

/** One signer per managed CA record: the key is parsed once and stays in it. */
function signerFor (ca: CaRecord): CaSigner {
  let signer = signers.get(ca)
  if (signer === undefined) {
    if (ca.keyPem === undefined) throw new Error(`CA ${ca.id} has no key: only a managed CA signs`)
    signer = localSigner(ca.certPem, createPrivateKey(ca.keyPem))
    signers.set(ca, signer)
  }
  return signer
}
