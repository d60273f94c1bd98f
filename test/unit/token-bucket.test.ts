import assert from 'node:assert/strict'
import { TokenBucket } from '../../broker/token-bucket.js'

describe('TokenBucket (publish rate)', () => {
  // [steps: [ms since start, amount taken], rate, expected waitMs after the steps]
  const cases: Array<{ name: string, rate: number, steps: Array<[number, number]>, at: number, wait: number }> = [
    { name: 'a second\'s worth is a burst with no wait', rate: 10, steps: [[0, 10]], at: 0, wait: 0 },
    { name: 'one over the burst waits one token\'s time', rate: 10, steps: [[0, 11]], at: 0, wait: 100 },
    { name: 'a large batch goes into debt, paid back at the rate', rate: 10, steps: [[0, 40]], at: 0, wait: 3000 },
    { name: 'debt shrinks as time passes', rate: 10, steps: [[0, 40]], at: 1000, wait: 2000 },
    { name: 'refill is capped at the burst', rate: 10, steps: [[10_000, 15]], at: 10_000, wait: 500 },
    { name: 'a steady client at the rate never waits', rate: 10, steps: Array.from({ length: 50 }, (_, i): [number, number] => [i * 100, 1]), at: 4900, wait: 0 },
    { name: 'bytes: 4 KiB/s, 12 KiB in one read', rate: 4096, steps: [[0, 12_288]], at: 0, wait: 2000 }
  ]
  for (const c of cases) {
    it(c.name, () => {
      let now = 0
      const bucket = new TokenBucket(c.rate, () => now)
      for (const [at, amount] of c.steps) { now = at; bucket.take(amount) }
      now = c.at
      assert.equal(bucket.waitMs(), c.wait)
    })
  }
})
