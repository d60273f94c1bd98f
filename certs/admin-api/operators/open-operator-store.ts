import { Redis } from 'ioredis'
import { FileOperatorStore } from './file-operator-store.js'
import type { InvalidRecordReport } from './operator-record.js'
import type { OperatorStore } from './operator-store.js'
import { RedisOperatorStore } from './redis-operator-store.js'

/** The operators on the registry's backend: Redis when `redisUrl` is set, the data dir otherwise; a record neither can use is skipped, told to `onInvalid`. */
export function openOperatorStore (options: { dataDir: string, redisUrl?: string, maxRetriesPerRequest?: number, onInvalid?: InvalidRecordReport }): OperatorStore {
  if (options.redisUrl === undefined) return new FileOperatorStore(options.dataDir, options.onInvalid)
  const redis = new Redis(options.redisUrl, options.maxRetriesPerRequest === undefined ? {} : { maxRetriesPerRequest: options.maxRetriesPerRequest })
  // Failures reach the request that met them (CERTS_ERR_STORE, 503); the registry's connection logs the outage.
  redis.on('error', () => {})
  return new RedisOperatorStore(redis, options.onInvalid)
}
