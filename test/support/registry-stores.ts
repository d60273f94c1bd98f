import { Redis } from 'ioredis'
import { EncryptingRegistryStore, FileRegistryStore, RedisRegistryStore, type RegistryStore } from '../../certs/index.js'
import { testKeyRing } from './kek.js'
import { startTestRedis, type TestRedis } from './redis-server.js'
import { makeTempDir } from './temp-dir.js'

/** One registry backend for a test suite that runs against each (files, Redis; keys encrypted or not). */
export interface StoreFactory {
  readonly name: string
  setUp (): Promise<void>
  tearDown (): Promise<void>
  /** A new store on the same backing data, as a second process would open it. */
  open (): RegistryStore
}

export function fileStores (): StoreFactory {
  let temp: { dir: string, remove: () => Promise<void> }
  return {
    name: 'files under the data dir',
    setUp: async () => { temp = await makeTempDir('registry') },
    tearDown: async () => await temp.remove(),
    open: () => new FileRegistryStore(temp.dir, 50)
  }
}

export function redisStores (): StoreFactory {
  let redis: TestRedis
  return {
    name: 'Redis',
    setUp: async () => { redis = await startTestRedis() },
    tearDown: async () => await redis.stop(),
    open: () => new RedisRegistryStore(new Redis(redis.url))
  }
}

/** The same store behind the encrypting decorator, as openRegistry always opens it. */
export function encrypted (inner: StoreFactory): StoreFactory {
  return { ...inner, name: `${inner.name}, keys encrypted at rest`, open: () => new EncryptingRegistryStore(inner.open(), testKeyRing()) }
}

/** Polls `check` until it holds (a change another process makes reaches this one through the store's watch). */
export async function eventually (check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}
