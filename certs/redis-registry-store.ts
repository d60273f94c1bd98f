import type { Redis } from 'ioredis'
import { CertsError } from './errors.js'
import { isValidOrgId } from './names.js'
import { ON_DEMAND_COLLECTIONS, SNAPSHOT_COLLECTIONS, snapshotCollectionsOf, type Collection, type CollectionRecords, type OrgRecord, type OrgState } from './records.js'
import { recordKey, type RegistryStore } from './registry-store.js'

const PREFIX = 'mqgate:registry:'
const ORGS_KEY = `${PREFIX}orgs`
const CHANGES_CHANNEL = `${PREFIX}changed`

/**
 * One hash per organisation for the records held in memory; issued
 * certificates, which grow with the fleet, and the enrollment records
 * (claims, tokens), read on demand, each in a hash of their own
 * (`issued:<org>`, `claims:<org>`, `enroll-tokens:<org>`).
 */
const orgKey = (orgId: string): string => `${PREFIX}org:${orgId}`
const onDemand = (collection: Collection): boolean => (ON_DEMAND_COLLECTIONS as readonly string[]).includes(collection)
const hashOf = (orgId: string, collection: Collection): string => onDemand(collection) ? `${PREFIX}${collection}:${orgId}` : orgKey(orgId)
const fieldOf = (collection: Collection, key: string): string => onDemand(collection) ? key : `${collection}/${key}`

// Creates the org hash and its set membership in one step, so no reader ever
// sees half an organisation and two creators cannot both win.
const CREATE_ORG_SCRIPT = `
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 0 end
redis.call('HSET', KEYS[2], unpack(ARGV, 2))
redis.call('SADD', KEYS[1], ARGV[1])
return 1`

// Writes a field only while the organisation exists, so a record never
// recreates half of a removed organisation.
const PUT_SCRIPT = `
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1`

// Compare-and-set of one field, while the organisation exists (-1 when it does not).
const SWAP_SCRIPT = `
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return -1 end
if redis.call('HGET', KEYS[2], ARGV[2]) ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[4])
return 1`

const leaseKey = (name: string): string => `${PREFIX}lease:${name}`

// Takes a free lease or extends one's own, in one step: two processes cannot both hold it.
const LEASE_SCRIPT = `
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`

/**
 * The registry in Redis: a set of org ids, a hash per organisation (`org` and
 * `<collection>/<id>` fields holding JSON) and a pub/sub channel that tells
 * every process which organisation changed.
 */
export class RedisRegistryStore implements RegistryStore {
  readonly kind = 'redis'
  private readonly subscribers: Redis[] = []

  constructor (private readonly redis: Redis) {}

  async listOrgIds (): Promise<string[]> {
    return (await this.call(async () => await this.redis.smembers(ORGS_KEY))).sort()
  }

  async readOrg (orgId: string): Promise<OrgState | undefined> {
    const fields = await this.call(async () => await this.redis.hgetall(orgKey(orgId)))
    if (fields.org === undefined) return undefined
    const collections = Object.fromEntries(SNAPSHOT_COLLECTIONS.map(c => [c, [] as unknown[]])) as Record<string, unknown[]>
    for (const field of Object.keys(fields).sort()) {
      const collection = field.slice(0, field.indexOf('/'))
      collections[collection]?.push(JSON.parse(fields[field]))
    }
    return {
      org: JSON.parse(fields.org),
      cas: collections.cas,
      serverCerts: collections['server-certs'],
      revocations: collections.revocations,
      gateways: collections.gateways,
      renewals: collections.renewals
    } as OrgState
  }

  async createOrg (state: OrgState): Promise<void> {
    const fields: string[] = ['org', JSON.stringify(state.org)]
    for (const [collection, records] of snapshotCollectionsOf(state)) {
      for (const record of records) fields.push(fieldOf(collection, recordKey(collection, record)), JSON.stringify(record))
    }
    const created = await this.call(async () => await this.redis.eval(CREATE_ORG_SCRIPT, 2, ORGS_KEY, orgKey(state.org.id), state.org.id, ...fields))
    if (created !== 1) throw new CertsError('CERTS_ERR_ORG_EXISTS', `organisation ${state.org.id} already exists`)
    await this.announce(state.org.id)
  }

  async updateOrg (org: OrgRecord): Promise<void> {
    await this.putField(org.id, orgKey(org.id), 'org', org)
    await this.announce(org.id)
  }

  async put<C extends Collection> (orgId: string, collection: C, record: CollectionRecords[C], options: { quiet?: boolean } = {}): Promise<void> {
    await this.putField(orgId, hashOf(orgId, collection), fieldOf(collection, recordKey(collection, record)), record)
    if (options.quiet !== true) await this.announce(orgId)
  }

  async swap<C extends Collection> (orgId: string, collection: C, expected: CollectionRecords[C], next: CollectionRecords[C], options: { announce?: boolean } = {}): Promise<boolean> {
    const key = recordKey(collection, next)
    if (recordKey(collection, expected) !== key) throw new Error('swap: the two records have different keys')
    // `expected` was read back with JSON.parse of what put or swap wrote: its JSON is the stored string.
    const swapped = await this.call(async () => await this.redis.eval(SWAP_SCRIPT, 2, ORGS_KEY, hashOf(orgId, collection), orgId, fieldOf(collection, key), JSON.stringify(expected), JSON.stringify(next)))
    if (swapped === -1) throw new CertsError('CERTS_ERR_ORG_NOT_FOUND', `organisation ${orgId} does not exist`)
    if (swapped === 1 && options.announce === true) await this.announce(orgId)
    return swapped === 1
  }

  async remove (orgId: string, collection: Collection, id: string): Promise<void> {
    await this.call(async () => await this.redis.hdel(hashOf(orgId, collection), fieldOf(collection, id)))
    await this.announce(orgId)
  }

  async get<C extends Collection> (orgId: string, collection: C, id: string): Promise<CollectionRecords[C] | undefined> {
    const json = await this.call(async () => await this.redis.hget(hashOf(orgId, collection), fieldOf(collection, id)))
    return json === null ? undefined : JSON.parse(json)
  }

  async list<C extends Collection> (orgId: string, collection: C): Promise<Array<CollectionRecords[C]>> {
    const fields = await this.call(async () => await this.redis.hgetall(hashOf(orgId, collection)))
    const prefix = fieldOf(collection, '')
    return Object.keys(fields).filter(f => f.startsWith(prefix) && f !== 'org').sort().map(f => JSON.parse(fields[f]))
  }

  async watch (onChange: (orgId?: string) => void): Promise<() => Promise<void>> {
    const subscriber = this.redis.duplicate()
    this.subscribers.push(subscriber)
    // Connection trouble is reported by the main connection's listener; this one reconnects on its own.
    subscriber.on('error', () => {})
    subscriber.on('message', (_channel: string, orgId: string) => onChange(isValidOrgId(orgId) ? orgId : undefined))
    // After a reconnect, changes announced while we were away are lost: reload all.
    subscriber.on('ready', () => onChange(undefined))
    await subscriber.subscribe(CHANGES_CHANNEL)
    return async () => {
      this.subscribers.splice(this.subscribers.indexOf(subscriber), 1)
      subscriber.disconnect()
    }
  }

  async lease (name: string, holder: string, ttlMs: number): Promise<boolean> {
    return await this.call(async () => await this.redis.eval(LEASE_SCRIPT, 1, leaseKey(name), holder, String(ttlMs))) === 1
  }

  /** Closes the watchers and the connection the store was given. */
  async close (): Promise<void> {
    for (const subscriber of this.subscribers.splice(0)) subscriber.disconnect()
    this.redis.disconnect()
  }

  private async putField (orgId: string, key: string, field: string, value: unknown): Promise<void> {
    const written = await this.call(async () => await this.redis.eval(PUT_SCRIPT, 2, ORGS_KEY, key, orgId, field, JSON.stringify(value)))
    if (written !== 1) throw new CertsError('CERTS_ERR_ORG_NOT_FOUND', `organisation ${orgId} does not exist`)
  }

  private async announce (orgId: string): Promise<void> {
    await this.call(async () => await this.redis.publish(CHANGES_CHANNEL, orgId))
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
