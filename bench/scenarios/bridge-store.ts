import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Redis } from 'ioredis'
import { freePort } from '../../test/support/redis-server.js'
import { sleep } from '../measure.js'
import { BENCH_KEK, MQGATE, pinToCore } from '../targets.js'

export interface StoreFigures {
  readonly readings: number
  readonly storedPerSecond: number
}

const STREAM = 'mqgate:readings:stream'

/**
 * One `mqgate bridge` process (pinned to core 0) drains `count` readings
 * that wait in the reading log into the Redis store. The temps API it would
 * forward to is down (a closed port), so forwarding backs off and the figure
 * is the store stage's.
 */
export async function measureBridgeStore (redisUrl: string, count: number): Promise<StoreFigures> {
  const redis = new Redis(redisUrl)
  const receivedAt = Date.now()
  for (let start = 0; start < count; start += 5000) {
    const pipeline = redis.pipeline()
    for (let i = start; i < Math.min(count, start + 5000); i++) {
      const payload = JSON.stringify({ temperature: 20 + (i % 50) / 10, time: new Date(receivedAt - count + i).toISOString() })
      pipeline.xadd(STREAM, '*', 'o', 'demo', 't', 'bench', 'd', `s${i % 100}`, 'p', Buffer.from(payload).toString('base64'), 'r', String(receivedAt))
    }
    await pipeline.exec()
  }
  const base = await storedSoFar(redis)
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mqgate-bench-bridge-'))
  const child = spawn(process.execPath, [MQGATE, 'bridge'], {
    env: { ...process.env, REDIS_URL: redisUrl, MQGATE_KEK: BENCH_KEK, MQGATE_DATA_DIR: dataDir, MQGATE_LOG_LEVEL: 'error', MQGATE_ADMIN_PORT: String(await freePort()), MQGATE_TEMPS_URL: `https://127.0.0.1:${await freePort()}/temps` },
    stdio: 'ignore'
  })
  pinToCore(child.pid as number, 0)
  let first: { at: number, done: number } | undefined
  let last = { at: 0, done: 0 }
  for (let waited = 0; waited < 120_000; waited += 20) {
    const done = await storedSoFar(redis) - base
    if (first === undefined && done > 0) first = { at: performance.now(), done }
    last = { at: performance.now(), done }
    if (done >= count) break
    await sleep(20)
  }
  await new Promise(resolve => { child.once('exit', resolve); child.kill('SIGTERM') })
  redis.disconnect()
  rmSync(dataDir, { recursive: true, force: true })
  if (first === undefined || last.done < count) throw new Error(`the bridge stored ${last.done} of ${count} readings`)
  return { readings: count, storedPerSecond: (last.done - first.done) / ((last.at - first.at) / 1000) }
}

/** Entries the `store` group has acknowledged: read minus pending (Redis 7 XINFO GROUPS). */
async function storedSoFar (redis: Redis): Promise<number> {
  const groups = await redis.xinfo('GROUPS', STREAM) as Array<Array<string | number>>
  for (const fields of groups) {
    const info = Object.fromEntries(Array.from({ length: fields.length / 2 }, (_, i) => [fields[2 * i], fields[2 * i + 1]]))
    if (info.name === 'store') return Number(info['entries-read']) - Number(info.pending)
  }
  return 0
}
