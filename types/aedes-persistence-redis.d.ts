// aedes 1.x needs the async persistence class, which the package does not
// export from its main entry (that one wraps it in the callback interface).
declare module 'aedes-persistence-redis/asyncPersistence.js' {
  import type { Redis } from 'ioredis'
  export default class AsyncRedisPersistence {
    constructor (options: { conn?: Redis, maxSessionDelivery?: number, packetTTL?: (packet: unknown) => number })
    setup (broker: unknown): Promise<void>
    createRetainedStreamCombi (patterns: string[]): AsyncIterable<unknown>
    destroy (): Promise<void>
  }
}
