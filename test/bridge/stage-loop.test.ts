import assert from 'node:assert/strict'
import { StageLoop } from '../../bridge/stage-loop.js'
import { createLogSink } from '../support/log-sink.js'

describe('bridge: stage loop', () => {
  it('retries a failing step with backoff until it succeeds', async () => {
    const sink = createLogSink()
    let calls = 0
    const loop = new StageLoop('test', sink.logger, async () => await new Promise(resolve => setTimeout(resolve, 20)))
    loop.start()
    try {
      await loop.untilDone(async () => { if (++calls < 3) throw new Error('not yet') })
      assert.equal(calls, 3)
      assert.equal(sink.lines.filter(l => l.event === 'bridge.stage-failed').length, 2)
    } finally {
      await loop.stop()
    }
  })

  // A step still running at stop() (a forward waiting on the temps API, say)
  // calls untilDone afterwards: p-retry ignores an abort that already
  // happened, so it retried a failing store every 10 s for as long as the
  // process lived, and kept an in-process stop from ever letting it exit.
  it('refuses work once stopped, without running it or scheduling a retry', async () => {
    const sink = createLogSink()
    const loop = new StageLoop('test', sink.logger, async () => await new Promise(resolve => setTimeout(resolve, 20)))
    loop.start()
    await loop.stop()
    let calls = 0
    await assert.rejects(loop.untilDone(async () => { calls++; throw new Error('Connection is closed.') }), { code: 'BRIDGE_ERR_CLOSED' })
    assert.equal(calls, 0)
    assert.equal(sink.lines.filter(l => l.event === 'bridge.stage-failed').length, 0, 'nothing logged as a failure after the stop')
  })
})
