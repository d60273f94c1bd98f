import { EventEmitter } from 'node:events'
import { createPrivateKey, randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { CertsError } from './errors.js'
import { isValidOrgId } from './names.js'
import { inspectCertificate, type CertificateFacts } from './certificate-facts.js'
import { spkiPin } from './pins.js'
import { issue, type Authority } from './issuance.js'
import { createManagedCa, DEFAULT_CA_KEY_TYPE } from './profiles.js'
import { managedCaOf, type CaRecord, type IssuedCertRecord, type OrgState, type ServerCertRecord } from './records.js'
import { localSigner, type CaKeyType, type CaSigner } from './signer.js'
import type { Pkcs11Keys } from './pkcs11-signer.js'
import { parsePkcs11Uri } from './pkcs11-uri.js'
import type { RegistryStore } from './registry-store.js'
import { MemoryAuditTrail, operatorOfActor, type AuditEntry, type AuditFilter, type AuditTrail } from './audit-trail.js'

export interface RegistryOptions {
  /**
   * The name each organisation's server certificate answers, `<org>.messaging.<domain>`:
   * the scheme is the identity path's (access/names.ts), handed down by the process entry.
   */
  readonly serverNameFor: (orgId: string) => string
  readonly log: Logger
  /** Where the organisation's CRL is published, put in the certificates its managed CA signs. */
  readonly crlUrlFor?: (orgId: string) => string
  /** The organisation's OCSP responder, put in the certificates its managed CA signs (authorityInfoAccess). */
  readonly ocspUrlFor?: (orgId: string) => string
  /** How often the store is compared with memory (a loss announces nothing); 5 s by default. */
  readonly storeCheckMs?: number
  /** The PKCS#11 token(s) of MQGATE_PKCS11_MODULE, for managed CAs whose key is there; closed with the registry. */
  readonly tokenKeys?: Pkcs11Keys
  /** Where audit entries are kept for `GET /orgs/:org/audit` (audit-trail.ts); this process's memory when absent. */
  readonly auditTrail?: AuditTrail
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
export class OrgRegistry extends EventEmitter<{ changed: [orgId: string], 'store-emptied': [] }> {
  private readonly orgs = new Map<string, OrgState>()
  private unwatch: () => Promise<void> = async () => {}
  private storeCheck: NodeJS.Timeout | undefined
  /** Set while the store holds no organisation but this process does: see `reload`. */
  private emptiedAt: Date | undefined
  /** The tail of the reloads in progress: each one reads and applies after the one before it (see `inTurn`). */
  private turns: Promise<void> = Promise.resolve()
  private readonly auditTrail: AuditTrail

  private constructor (readonly store: RegistryStore, readonly options: RegistryOptions) {
    super()
    this.auditTrail = options.auditTrail ?? new MemoryAuditTrail()
  }

  static async open (store: RegistryStore, options: RegistryOptions): Promise<OrgRegistry> {
    const registry = new OrgRegistry(store, options)
    await registry.reload()
    try {
      registry.checkTokenKeys()
    } catch (err) {
      await registry.close()
      throw err
    }
    registry.unwatch = await store.watch(orgId => {
      registry.reload(orgId).catch(err => options.log.error({ err, orgId }, 'registry reload failed'))
    })
    // A FLUSHALL announces nothing: look at the store now and then, so that a
    // loss shows on /readyz and in the metric even while nothing changes.
    registry.storeCheck = setInterval(() => {
      // A store that does not answer is reported by its connection's own error lines.
      registry.checkStore().catch(err => options.log.debug({ err }, 'registry store check failed'))
    }, options.storeCheckMs ?? 5_000).unref()
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
    return this.options.serverNameFor(orgId)
  }

  /**
   * A new organisation with its managed CA (of `caKeyType`, RSA-2048 by
   * default) and a server certificate for `<org>.messaging.<domain>` (plus
   * `extraNames`), issued and recorded like every certificate the CA signs.
   */
  async createOrg (orgId: string, extraNames: readonly string[] = [], actor: Actor = 'system', options: { caKeyType?: CaKeyType, caKeyUri?: string } = {}): Promise<OrgState> {
    if (!isValidOrgId(orgId)) {
      throw new CertsError('CERTS_ERR_ORG_INVALID', 'an organisation id is 1-63 characters of a-z, 0-9 and "-", not starting or ending with "-"')
    }
    if (this.orgs.has(orgId)) throw new CertsError('CERTS_ERR_ORG_EXISTS', `organisation ${orgId} already exists`)
    const now = new Date().toISOString()
    const caRecord = options.caKeyUri === undefined
      ? await this.localCa(orgId, now, options.caKeyType)
      : await this.createTokenCa(orgId, now, options.caKeyUri, options.caKeyType)
    // The organisation is stored with its server certificate, so that record and audit line wait until it exists.
    const pending: IssuedCertRecord[] = []
    const audits: Array<() => void> = []
    const authority: Authority = {
      caId: caRecord.id,
      signer: signerFor(caRecord, this.options.tokenKeys),
      crlUrl: this.options.crlUrlFor?.(orgId),
      ocspUrl: this.options.ocspUrlFor?.(orgId),
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
      gateways: [],
      renewals: []
    }
    await this.store.createOrg(state)
    for (const record of pending) await this.store.put(orgId, 'issued', record, { quiet: true })
    this.audit(actor, 'org.create', orgId, { caFingerprint: caRecord.fingerprint, caKeyType: signerFor(caRecord, this.options.tokenKeys).keyType, ...(caRecord.keyUri === undefined ? {} : { caKeyUri: caRecord.keyUri }), fingerprint: serverRecord.fingerprint })
    for (const line of audits) line()
    await this.inTurn(async () => this.apply(orgId, state))
    return state
  }

  /** The managed CA that signs this organisation's certificates and CRL; its key stays inside the signer. */
  signerOf (orgId: string): CaSigner {
    return signerFor(managedCaOf(this.require(orgId)), this.options.tokenKeys)
  }

  private async localCa (orgId: string, now: string, keyType: CaKeyType | undefined): Promise<CaRecord> {
    const ca = await createManagedCa(orgId, { keyType })
    return caRecordFrom(inspectCertificate(ca.certPem), { kind: 'managed', keyPem: ca.keyPem, description: 'managed by mqgate', addedAt: now })
  }

  /**
   * A managed CA whose key is in a PKCS#11 token: the key the URI names is
   * used if the token holds it, generated there otherwise; the self-signed
   * certificate is signed by the token. The record keeps the certificate and
   * the URI, no key. Not stored here: createOrg and moveCaKeyToToken store it.
   */
  async createTokenCa (orgId: string, now: string, uri: string, keyType: CaKeyType | undefined): Promise<CaRecord> {
    const tokenKeys = this.options.tokenKeys
    if (tokenKeys === undefined) throw new CertsError('CERTS_ERR_HSM_NOT_CONFIGURED', 'a CA key in a PKCS#11 token needs MQGATE_PKCS11_MODULE and MQGATE_PKCS11_PIN in the gateway\'s environment')
    const name = JSON.stringify(parsePkcs11Uri(uri))
    const user = this.list().find(state => { const ca = managedCaOf(state); return ca.keyUri !== undefined && JSON.stringify(parsePkcs11Uri(ca.keyUri)) === name })
    // Not named in the message (an org-admin may move its CA key): the log line names it (issue 14).
    if (user !== undefined) throw new CertsError('CERTS_ERR_HSM_KEY_IN_USE', `${user.org.id === orgId ? 'this' : 'another'} organisation's CA already signs with that token key`, { logFields: { otherOrgs: [user.org.id] } })
    const key = tokenKeys.prepare(uri, keyType ?? DEFAULT_CA_KEY_TYPE)
    if (keyType !== undefined && key.signer.keyType !== keyType) throw new CertsError('CERTS_ERR_KEY_MISMATCH', `the token's key ${uri} is ${key.signer.keyType}, not ${keyType}`)
    const ca = await createManagedCa(orgId, { key })
    return caRecordFrom(inspectCertificate(ca.certPem), { kind: 'managed', keyUri: uri, description: key.existing ? 'managed by mqgate, key in a PKCS#11 token' : 'managed by mqgate, key generated in a PKCS#11 token', addedAt: now })
  }

  /** Every managed CA in a token must be reachable: a wrong PIN stops the start with its code. */
  private checkTokenKeys (): void {
    for (const state of this.list()) {
      const ca = managedCaOf(state)
      if (ca.keyUri === undefined) continue
      if (this.options.tokenKeys === undefined) throw new CertsError('CERTS_ERR_HSM_NOT_CONFIGURED', `organisation ${state.org.id}'s CA key is in a PKCS#11 token: set MQGATE_PKCS11_MODULE and MQGATE_PKCS11_PIN`)
      this.options.tokenKeys.check(ca.keyUri)
    }
  }

  /** Writes one audit line: who changed what, with the fingerprint of the certificate concerned. */
  audit (actor: Actor, action: string, orgId: string, fields: Record<string, unknown> = {}): void {
    this.options.log.info({ event: 'audit', actor, action, orgId, ...fields }, action)
    this.auditTrail.append({ at: new Date().toISOString(), actor, operator: operatorOfActor(actor), action, orgId, fields })
  }

  /** The organisation's stored audit entries, newest first (audit-trail.ts: the last AUDIT_KEEP). */
  async auditEntries (orgId: string, filter: AuditFilter = {}): Promise<readonly AuditEntry[]> {
    return await this.auditTrail.list(orgId, filter)
  }

  /**
   * Re-reads one organisation (or all) from the store and reports what changed.
   * No verb deletes an organisation, and a store that lists none while this
   * process holds some has lost its data (Redis restarted without AOF,
   * FLUSHALL, failover to an empty replica), not had every organisation
   * deleted: the registry in memory keeps serving, `storeIntact` turns false
   * (/readyz), one error is logged and 'store-emptied' emitted (the metric).
   * A restore, or any organisation written again, ends it.
   */
  async reload (orgId?: string): Promise<void> {
    await this.inTurn(async () => await this.readAndApply(orgId))
  }

  /**
   * Runs one read-and-apply after every one begun before it. Reloads come from
   * the verbs and from the store's watch at any time; two in flight at once
   * could finish out of order, and one that read the store before a change
   * would then put the old state back over the change's own reload (a CA just
   * added missing from memory until the next change).
   */
  private async inTurn (step: () => Promise<void>): Promise<void> {
    const run = this.turns.then(step)
    this.turns = run.catch(() => {})
    await run
  }

  private async readAndApply (orgId: string | undefined): Promise<void> {
    const ids = orgId === undefined ? await this.store.listOrgIds() : [orgId]
    const states = new Map<string, OrgState | undefined>()
    for (const id of ids) states.set(id, await this.store.readOrg(id))
    const vanished = orgId === undefined ? ids.length === 0 : states.get(orgId) === undefined && this.orgs.has(orgId)
    if (vanished && this.orgs.size > 0 && (await this.store.listOrgIds()).length === 0) {
      this.storeEmptied()
      return
    }
    if (this.emptiedAt !== undefined) {
      if (![...states.values()].some(state => state !== undefined)) return
      this.options.log.warn({ event: 'registry.store-back', emptiedAt: this.emptiedAt.toISOString() }, 'the registry store holds organisations again')
      this.emptiedAt = undefined
      // A restore writes one organisation after another: those not back yet keep being served from memory.
      for (const [id, state] of states) if (state !== undefined) this.apply(id, state)
      return
    }
    if (orgId === undefined) {
      for (const known of [...this.orgs.keys()]) if (!ids.includes(known)) this.apply(known, undefined)
    }
    for (const [id, state] of states) this.apply(id, state)
  }

  /** False while the store has lost what this process holds in memory (see `reload`). */
  get storeIntact (): boolean {
    return this.emptiedAt === undefined
  }

  /** Compares the store with memory (one listing): notices a loss, or reloads all once the store is back. */
  async checkStore (): Promise<boolean> {
    const ids = await this.store.listOrgIds()
    if (ids.length === 0 && this.orgs.size > 0) this.storeEmptied()
    else if (this.emptiedAt !== undefined) await this.reload()
    return this.storeIntact
  }

  async close (): Promise<void> {
    if (this.storeCheck !== undefined) clearInterval(this.storeCheck)
    await this.unwatch()
    await this.store.close()
    await this.auditTrail.close()
    this.options.tokenKeys?.close()
  }

  private storeEmptied (): void {
    if (this.emptiedAt !== undefined) return
    this.emptiedAt = new Date()
    this.options.log.error({ event: 'registry.store-emptied', code: 'CERTS_ERR_STORE_EMPTIED', kind: this.store.kind, orgsInMemory: this.orgs.size },
      'the registry store holds no organisation (restarted empty?); serving the registry held in memory until it is restored (mqgate registry restore)')
    this.emit('store-emptied')
  }

  private apply (orgId: string, state: OrgState | undefined): void {
    const before = this.orgs.get(orgId)
    if (state === undefined) this.orgs.delete(orgId)
    else this.orgs.set(orgId, state)
    if (JSON.stringify(before) !== JSON.stringify(state)) this.emit('changed', orgId)
  }
}

export function caRecordFrom (facts: CertificateFacts, extra: Pick<CaRecord, 'kind' | 'description' | 'addedAt'> & { keyPem?: string, keyUri?: string }): CaRecord {
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

/** One signer per managed CA record: the key is parsed once and stays in it, or stays in its token. */
function signerFor (ca: CaRecord, tokenKeys: Pkcs11Keys | undefined): CaSigner {
  let signer = signers.get(ca)
  if (signer === undefined) {
    if (ca.keyUri !== undefined) {
      if (tokenKeys === undefined) throw new CertsError('CERTS_ERR_HSM_NOT_CONFIGURED', 'this CA\'s key is in a PKCS#11 token: set MQGATE_PKCS11_MODULE and MQGATE_PKCS11_PIN')
      signer = tokenKeys.signer(ca.keyUri, ca.certPem)
    } else {
      if (ca.keyPem === undefined) throw new Error(`CA ${ca.id} has no key: only a managed CA signs`)
      signer = localSigner(ca.certPem, createPrivateKey(ca.keyPem))
    }
    signers.set(ca, signer)
  }
  return signer
}
