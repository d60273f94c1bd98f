import type { Logger } from 'pino'
import type { OrgState } from '../certs/index.js'
import type { RetainedOwners } from './retained-owners.js'
import { orgPrefix } from './topics.js'

/** What the purge needs of aedes' persistence: storing an empty retained message deletes the topic's. */
export interface RetainedStore {
  storeRetained (packet: { cmd: 'publish', topic: string, payload: Buffer, qos: 0, retain: true, dup: false }): Promise<void>
}

/**
 * Withdraws the retained messages that revoked certificates of the
 * organisation published, so that new subscribers do not receive them. With
 * Redis every broker process does it on the same change; deleting twice is harmless.
 */
export async function purgeRevokedRetained (org: OrgState, owners: RetainedOwners, store: RetainedStore, log: Logger): Promise<number> {
  if (org.revocations.length === 0) return 0
  const revoked = new Set(org.revocations.map(r => r.fingerprint))
  const topics = await owners.topicsOf(orgPrefix(org.org.id), revoked)
  for (const topic of topics) {
    await store.storeRetained({ cmd: 'publish', topic, payload: Buffer.alloc(0), qos: 0, retain: true, dup: false })
    await owners.forget(topic)
  }
  if (topics.length > 0) log.info({ event: 'retained.purged', orgId: org.org.id, count: topics.length }, 'retained messages of revoked certificates withdrawn')
  return topics.length
}
