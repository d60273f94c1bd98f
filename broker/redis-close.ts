import type { Redis } from 'ioredis'

/**
 * QUIT waits for the commands already queued, which is what a graceful close
 * wants, but ioredis queues it forever while Redis is unreachable: after
 * `graceMs` the connection is dropped instead, so a shutdown never hangs on a
 * Redis that is down.
 */
export async function closeRedis (redis: Redis, graceMs = 2000): Promise<void> {
  if (redis.status === 'end') return
  if (redis.status !== 'ready') {
    redis.disconnect()
    return
  }
  await settlesWithin(redis.quit(), graceMs)
  redis.disconnect()
}

/** Whether `promise` settles within `ms`; it is left running either way. */
export async function settlesWithin (promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const settled = await Promise.race([promise.then(() => true, () => true), new Promise<boolean>(resolve => { timer = setTimeout(() => resolve(false), ms) })])
  clearTimeout(timer)
  return settled
}
