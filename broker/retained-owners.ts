import type { Redis } from 'ioredis'

/**
 * Which certificate published each retained message. aedes keeps the retained
 * packet but not who sent it, so without this index a device whose
 * certificate is revoked would go on speaking to every new subscriber through
 * its retained messages.
 */
export interface RetainedOwners {
  record (topic: string, fingerprint: string): Promise<void>
  forget (topic: string): Promise<void>
  /** Internal topics (under `prefix`) whose retained message came from one of `fingerprints`. */
  topicsOf (prefix: string, fingerprints: ReadonlySet<string>): Promise<string[]>
}

export class MemoryRetainedOwners implements RetainedOwners {
  private readonly owners = new Map<string, string>()

  async record (topic: string, fingerprint: string): Promise<void> {
    this.owners.set(topic, fingerprint)
  }

  async forget (topic: string): Promise<void> {
    this.owners.delete(topic)
  }

  async topicsOf (prefix: string, fingerprints: ReadonlySet<string>): Promise<string[]> {
    return [...this.owners].filter(([topic, owner]) => topic.startsWith(prefix) && fingerprints.has(owner)).map(([topic]) => topic)
  }
}

/** One hash beside aedes' own keys (the connection carries the broker's key prefix). */
const KEY = 'retained-owners'

export class RedisRetainedOwners implements RetainedOwners {
  constructor (private readonly redis: Redis) {}

  async record (topic: string, fingerprint: string): Promise<void> {
    await this.redis.hset(KEY, topic, fingerprint)
  }

  async forget (topic: string): Promise<void> {
    await this.redis.hdel(KEY, topic)
  }

  async topicsOf (prefix: string, fingerprints: ReadonlySet<string>): Promise<string[]> {
    const topics: string[] = []
    for await (const page of this.redis.hscanStream(KEY, { match: `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, count: 500 })) {
      const entries = page as string[]
      for (let i = 0; i < entries.length; i += 2) if (fingerprints.has(entries[i + 1])) topics.push(entries[i])
    }
    return topics
  }
}

/** Notes who published a retained message, or forgets the owner when the topic is cleared. */
export async function recordRetainedOwner (owners: RetainedOwners | undefined, packet: { retain?: boolean, topic: string, payload?: Buffer | string }, fingerprint: string): Promise<void> {
  if (packet.retain !== true || owners === undefined) return
  // An empty retained publish clears the topic [MQTT-3.3.1-10].
  if ((packet.payload?.length ?? 0) === 0) await owners.forget(packet.topic)
  else await owners.record(packet.topic, fingerprint)
}
