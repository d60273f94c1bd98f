import { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { FileRegistryStore } from './file-registry-store.js'
import { OrgRegistry } from './org-registry.js'
import { Pkcs11Keys } from './pkcs11-signer.js'
import type { Pkcs11Config } from './pkcs11-session.js'
import { RedisRegistryStore } from './redis-registry-store.js'

/** The registry on the store the configuration names: Redis when `redisUrl` is set, the data dir otherwise. */
export async function openRegistry (options: { dataDir: string, redisUrl?: string, domain: string, log: Logger, crlUrlTemplate?: string, pkcs11?: Pkcs11Config }): Promise<OrgRegistry> {
  const log = options.log.child({ component: 'registry' })
  const store = options.redisUrl === undefined ? new FileRegistryStore(options.dataDir) : new RedisRegistryStore(connectRedis(options.redisUrl, log))
  const template = options.crlUrlTemplate
  // Managed CAs whose key is in a PKCS#11 token sign through it (pkcs11-signer.ts).
  const tokenKeys = options.pkcs11 === undefined ? {} : { tokenKeys: new Pkcs11Keys(options.pkcs11) }
  return await OrgRegistry.open(store, { domain: options.domain, log, ...tokenKeys, ...(template === undefined ? {} : { crlUrlFor: (orgId: string) => template.replaceAll('{org}', orgId) }) })
}

function connectRedis (url: string, log: Logger): Redis {
  const redis = new Redis(url)
  redis.on('error', err => log.error({ event: 'redis.error', err }, 'Redis connection error'))
  return redis
}
