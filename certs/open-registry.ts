import { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { RedisAuditTrail } from './audit-trail.js'
import { EncryptingRegistryStore } from './at-rest/encrypting-registry-store.js'
import type { KeyRing } from './at-rest/kek.js'
import { sealStoredKeys } from './at-rest/seal-stored-keys.js'
import { FileAuditTrail } from './file-audit-trail.js'
import { FileRegistryStore } from './file-registry-store.js'
import { OrgRegistry } from './org-registry.js'
import { Pkcs11Keys } from './pkcs11-signer.js'
import type { Pkcs11Config } from './pkcs11-session.js'
import { RedisRegistryStore } from './redis-registry-store.js'
import type { RegistryStore } from './registry-store.js'

export interface OpenRegistryOptions {
  readonly dataDir: string
  readonly redisUrl?: string
  /** `<org>.messaging.<domain>` (access/names.ts): the name each organisation's server certificate answers. */
  readonly serverNameFor: (orgId: string) => string
  readonly log: Logger
  readonly crlUrlTemplate?: string
  /** `{org}` filled in: the OCSP responder's URL in what the managed CAs sign; none when absent. */
  readonly ocspUrlTemplate?: string
  /** The key-encryption keys: private keys are sealed under `current` in the store, always. */
  readonly keys: KeyRing
  /** The PKCS#11 module and PIN, for managed CAs whose key is in a token. */
  readonly pkcs11?: Pkcs11Config
}

/**
 * The registry on the store the configuration names (Redis when `redisUrl` is
 * set, the data dir otherwise), behind the encrypting decorator. Plaintext
 * keys left by an earlier version are sealed first, and a wrong KEK stops the
 * start here (CERTS_ERR_KEK_MISMATCH).
 */
export async function openRegistry (options: OpenRegistryOptions): Promise<OrgRegistry> {
  const log = options.log.child({ component: 'registry' })
  const inner = openRegistryStore(options)
  const template = options.crlUrlTemplate
  const ocspTemplate = options.ocspUrlTemplate
  // Beside the registry's store: with Redis every process appends to and reads the same trail; on files it outlives a restart.
  const auditTrail = options.redisUrl === undefined ? new FileAuditTrail(options.dataDir, log) : new RedisAuditTrail(options.redisUrl, log)
  try {
    await sealStoredKeys(inner, options.keys, log, 'migrate')
    // Managed CAs whose key is in a PKCS#11 token sign through it (pkcs11-signer.ts).
    const tokenKeys = options.pkcs11 === undefined ? {} : { tokenKeys: new Pkcs11Keys(options.pkcs11) }
    return await OrgRegistry.open(new EncryptingRegistryStore(inner, options.keys), {
      serverNameFor: options.serverNameFor,
      log,
      ...tokenKeys,
      auditTrail,
      ...(template === undefined ? {} : { crlUrlFor: (orgId: string) => template.replaceAll('{org}', orgId) }),
      ...(ocspTemplate === undefined ? {} : { ocspUrlFor: (orgId: string) => ocspTemplate.replaceAll('{org}', orgId) })
    })
  } catch (err) {
    // An open Redis connection would keep a refused process alive after its one-line error.
    await inner.close()
    await auditTrail.close()
    throw err
  }
}

/**
 * The bare store (records as stored, keys sealed): for the encrypting
 * decorator and the `registry` verbs. Without a `log`, Redis connection errors
 * reach the caller only through the command that met them (CERTS_ERR_STORE),
 * as a one-shot command wants, not as error events.
 */
export function openRegistryStore (options: { dataDir: string, redisUrl?: string, log?: Logger, maxRetriesPerRequest?: number }): RegistryStore {
  return options.redisUrl === undefined ? new FileRegistryStore(options.dataDir) : new RedisRegistryStore(connectRedis(options.redisUrl, options))
}

function connectRedis (url: string, options: { log?: Logger, maxRetriesPerRequest?: number }): Redis {
  const redis = new Redis(url, options.maxRetriesPerRequest === undefined ? {} : { maxRetriesPerRequest: options.maxRetriesPerRequest })
  redis.on('error', err => options.log?.error({ event: 'redis.error', err }, 'Redis connection error'))
  return redis
}
