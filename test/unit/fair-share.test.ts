import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { PassThrough } from 'node:stream'
import type { Client } from 'aedes'
import { FairShare } from '../../broker/fair-share.js'
import { limitPublishRate } from '../../broker/publish-rate.js'

/**
 * Two clients of one organisation flood at once under the organisation's
 * publish rate (org-limits.ts): each gets turns in the rate, whichever one's
 * socket the event loop happens to read first. Before the shared rate handed
 * out turns, each client's gate re-armed its own timer, and the client whose
 * timer was armed first took every token as it refilled (a CI run saw 147
 * PUBLISHes against 4).
 */
describe('broker: an organisation\'s publish rate is shared in turns', function () {
  this.timeout(10_000)

  /** A client as limitPublishRate sees it: aedes' parser and the socket it reads. */
  function floodingClient (share: FairShare, passed: string[], name: string): { parser: EventEmitter, socket: PassThrough } {
    const parser = new EventEmitter()
    const socket = new PassThrough()
    parser.on('packet', () => passed.push(name))
    const limited = limitPublishRate(socket, { _parser: parser } as unknown as Client, { messagesPerSecond: 100_000, bytesPerSecond: 100_000_000 }, () => {}, share)
    assert.ok(limited)
    return { parser, socket }
  }

  it('alternates two flooding clients once the first second\'s burst is spent', async () => {
    const rate = 200
    const share = new FairShare(() => rate)
    const passed: string[] = []
    const clients = ['first', 'second'].map(name => ({ name, ...floodingClient(share, passed, name) }))
    // Each sends a read's worth at once: far more than the organisation's rate.
    for (const { parser } of clients) for (let n = 0; n < 400; n++) parser.emit('packet', { cmd: 'publish', length: 20 })
    const burst = passed.length
    assert.ok(burst >= rate && burst <= rate + 2, `the first second's worth passed at once (${burst})`)
    await new Promise(resolve => setTimeout(resolve, 600))
    const turns = passed.slice(burst)
    const second = turns.filter(name => name === 'second').length
    assert.ok(turns.length >= 60, `the rate refilled and let more through (${turns.length})`)
    assert.ok(Math.abs(turns.length - 2 * second) <= 2, `after the burst the two take turns: ${second} of ${turns.length} were the second client's`)
    for (const { socket } of clients) socket.destroy()
  })

  it('lets everyone held through at once when the rate is lifted, and a closed client gives up its turn', async () => {
    let rate: number | undefined = 50
    const share = new FairShare(() => rate)
    const passed: string[] = []
    const [a, b, c] = ['a', 'b', 'c'].map(name => floodingClient(share, passed, name))
    for (const { parser } of [a, b, c]) for (let n = 0; n < 100; n++) parser.emit('packet', { cmd: 'publish', length: 20 })
    assert.equal(passed.length, 51)
    c.socket.destroy()
    rate = undefined
    await new Promise(resolve => setTimeout(resolve, 100))
    assert.equal(passed.filter(name => name === 'a').length, 100)
    assert.equal(passed.filter(name => name === 'b').length, 100)
    assert.ok(passed.filter(name => name === 'c').length <= 1, 'the closed client\'s held PUBLISHes were dropped with its socket')
    a.socket.destroy()
    b.socket.destroy()
  })
})
