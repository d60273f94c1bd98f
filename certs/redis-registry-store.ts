import { Redis } from 'ioredis'
import { CertsError } from './errors.js'
import type { CaRecord, OrgRecord, OrgState, ServerCertRecord } from './records.js'
import type { RegistryStore } from './registry-store.js'

const PREFIX = 'mqgate:registry:'
const ORGS_KEY = `${PREFIX}orgs`
const CHANGES_CHANNEL = `${PREFIX}changed`

const orgKey = (orgId: string): string => `${PREFIX}org:${orgId}`

// Creates the org hash and its set membership in one step, so no reader ever
// sees half an organisation and two creators cannot both win.
const CREATE_ORG_SCRIPT = `
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 0 end
redis.call('HSET', KEYS[2], unpack(ARGV, 2))
redis.call('SADD', KEYS[1], ARGV[1])
return 1`

/**
 * The registry in Redis: one hash per organisation (`org`, `ca:<id>`,
 * `sc:<id>` fields holding JSON), a set of org ids, and a pub/sub channel that
 * tells every process which organisation changed.
 */
export class RedisRegistryStore implements RegistryStore {
  readonly kind = 'redis'
  private readonly subscribers: Redis[] = []

  constructor (private readonly redis: Redis) {}

  async listOrgIds (): Promise<string[]> {
    return (await this.call(() => this.redis.smembers(ORGS_KEY))).sort()
  }

  async readOrg (orgId: string): Promise<OrgState | undefined> {
    const fields = await this.call(() => this.redis.hgetall(orgKey(orgId)))
    if (fields.org === undefined) return undefined
    const cas: CaRecord[] = []
    const serverCerts: ServerCertRecord[] = []
    for (const [field, json] of Object.entries(fields)) {
      if (field.startsWith('ca:')) cas.push(JSON.parse(json))
      if (field.startsWith('sc:')) serverCerts.push(JSON.parse(json))
    }
    return { org: JSON.parse(fields.org), cas: cas.sort(byId), serverCerts: serverCerts.sort(byId) }
  }

  async createOrg (state: OrgState): Promise<void> {
    const fields: string[] = ['org', JSON.stringify(state.org)]
    for (const ca of state.cas) fields.push(`ca:${ca.id}`, JSON.stringify(ca))
    for (const sc of state.serverCerts) fields.push(`sc:${sc.id}`, JSON.stringify(sc))
    const created = await this.call(() => this.redis.eval(CREATE_ORG_SCRIPT, 2, ORGS_KEY, orgKey(state.org.id), state.org.id, ...fields))
    if (created !== 1) throw new CertsError('CERTS_ERR_ORG_EXISTS', `organisation ${state.org.id} already exists`)
    await this.announce(state.org.id)
  }

  async updateOrg (org: OrgRecord): Promise<void> {
    await this.putField(org.id, 'org', org)
  }

  async putCa (orgId: string, ca: CaRecord): Promise<void> {
    await this.putField(orgId, `ca:${ca.id}`, ca)
  }

  async deleteCa (orgId: string, caId: string): Promise<void> {
    await this.call(() => this.redis.hdel(orgKey(orgId), `ca:${caId}`))
    await this.announce(orgId)
  }

  async putServerCert (orgId: string, serverCert: ServerCertRecord): Promise<void> {
    await this.putField(orgId, `sc:${serverCert.id}`, serverCert)
  }

  async watch (onChange: (orgId?: string) => void): Promise<() => Promise<void>> {
    const subscriber = this.redis.duplicate()
    this.subscribers.push(subscriber)
    // Connection trouble is reported by the main connection's listener; this one reconnects on its own.
    subscriber.on('error', () => {})
    subscriber.on('message', (_channel: string, orgId: string) => onChange(orgId))
    // After a reconnect, changes announced while we were away are lost: reload all.
    subscriber.on('ready', () => onChange(undefined))
    await subscriber.subscribe(CHANGES_CHANNEL)
    return async () => {
      this.subscribers.splice(this.subscribers.indexOf(subscriber), 1)
      subscriber.disconnect()
    }
  }

  /** Closes the watchers and the connection the store was given. */
  async close (): Promise<void> {
    for (const subscriber of this.subscribers.splice(0)) subscriber.disconnect()
    this.redis.disconnect()
  }

  private async putField (orgId: string, field: string, value: unknown): Promise<void> {
    // Only an existing organisation may gain records: HSET on a missing hash would create half an org.
    const exists = await this.call(() => this.redis.sismember(ORGS_KEY, orgId))
    if (exists !== 1) throw new CertsError('CERTS_ERR_ORG_NOT_FOUND', `organisation ${orgId} does not exist`)
    await this.call(() => this.redis.hset(orgKey(orgId), field, JSON.stringify(value)))
    await this.announce(orgId)
  }

  private async announce (orgId: string): Promise<void> {
    await this.call(() => this.redis.publish(CHANGES_CHANNEL, orgId))
  }

  private async call<T> (fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      if (err instanceof CertsError) throw err
      throw new CertsError('CERTS_ERR_STORE', 'the registry store in Redis failed', { cause: err })
    }
  }
}

function byId (a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}
