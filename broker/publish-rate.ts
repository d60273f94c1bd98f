import type { EventEmitter } from 'node:events'
import type { Duplex } from 'node:stream'
import type { Client } from 'aedes'
import type { Waiter } from './fair-share.js'
import { TokenBucket } from './token-bucket.js'

export interface PublishRateLimits {
  /** PUBLISH packets per second one client may send (sustained; a second's worth as a burst). */
  readonly messagesPerSecond: number
  /** PUBLISH bytes (whole packets) per second one client may send. */
  readonly bytesPerSecond: number
}

interface Packet { readonly cmd: string, readonly length?: number }

/** A rate the client shares with others (its organisation's, org-limits.ts and fair-share.ts), consulted after its own. */
export interface SharedRate {
  /** True, and the PUBLISH counted, when this client may pass one now. */
  tryTake (waiter: Waiter): boolean
  /** Calls `waiter` when this client's turn comes. */
  wait (waiter: Waiter): void
  leave (waiter: Waiter): void
}

/**
 * Holds one client to its publish rate by backpressure, as EMQX's
 * messages_rate / bytes_rate do: nothing is dropped and the client is not
 * disconnected; the broker stops reading its socket until it is back under
 * the rate, so its TCP window closes and the client itself slows down.
 *
 * aedes reads a whole buffer at a time (`conn.read(null)`, up to the
 * stream's high-water mark: hundreds of small PUBLISHes) and hands each
 * packet the parser emits straight to its handler. So the gate is in two
 * places: packets over the rate are held back as they leave aedes' parser
 * (`_parser`, aedes 1.x, the hook unsubscribe-rewrite.ts also uses) and
 * released in order as the bucket refills; while any is held, `read` gives
 * aedes nothing, so at most one buffer is held and the rest waits in the
 * kernel. Once all are released, the 'readable' event aedes listens to is
 * raised again. (aedes' own `client.pause()` cannot be used mid-batch: in
 * 1.2 a paused client drops the batch counter's decrements and never reads
 * again.)
 */
export function limitPublishRate (socket: Duplex, client: Client, limits: PublishRateLimits, onThrottled: (by: 'client' | 'shared') => void, shared?: SharedRate): boolean {
  const parser = (client as unknown as { _parser?: EventEmitter })._parser
  if (typeof parser?.emit !== 'function') return false
  const messages = new TokenBucket(limits.messagesPerSecond)
  const bytes = new TokenBucket(limits.bytesPerSecond)
  const held: Packet[] = []
  let timer: NodeJS.Timeout | undefined
  /** Waiting for its turn at the shared rate. */
  let queued = false
  let starved = false
  const emit = parser.emit.bind(parser)

  const ownWaitMs = (): number => Math.max(messages.waitMs(), bytes.waitMs())
  const pass = (packet: Packet): void => {
    if (packet.cmd === 'publish') {
      messages.take(1)
      // Remaining Length plus the fixed header (at least two bytes).
      bytes.take((packet.length ?? 0) + 2)
    }
    emit('packet', packet)
  }
  /** Whether `packet` may pass now: its own rate first, then (taking a turn) the shared one. */
  const mayPass = (packet: Packet): 'now' | 'client' | 'shared' => {
    if (packet.cmd !== 'publish') return 'now'
    if (ownWaitMs() > 0) return 'client'
    return shared === undefined || shared.tryTake(release) ? 'now' : 'shared'
  }
  const waitFor = (by: 'client' | 'shared'): void => {
    if (by === 'client') {
      timer = setTimeout(release, ownWaitMs())
    } else {
      queued = true
      shared?.wait(release)
    }
  }
  function release (): void {
    timer = undefined
    queued = false
    if (socket.destroyed) return
    while (held.length > 0) {
      const verdict = mayPass(held[0])
      if (verdict !== 'now') return waitFor(verdict)
      pass(held.shift() as Packet)
    }
    if (starved) {
      starved = false
      socket.emit('readable')
    }
  }

  parser.emit = function gatedEmit (event: string | symbol, ...args: unknown[]): boolean {
    if (event !== 'packet') return emit(event, ...args)
    const packet = args[0] as Packet
    // Held packets keep their order: whatever follows one waits behind it.
    if (held.length > 0) {
      held.push(packet)
      return true
    }
    const verdict = mayPass(packet)
    if (verdict === 'now') {
      pass(packet)
      return true
    }
    onThrottled(verdict)
    held.push(packet)
    if (timer === undefined && !queued) waitFor(verdict)
    return true
  }

  const read = socket.read.bind(socket)
  socket.read = function gatedRead (size?: number) {
    // read(0) only asks the stream to fill its buffer (up to its high-water mark): it takes nothing.
    if (held.length === 0 || size === 0) return read(size)
    starved = true
    return null
  } as typeof socket.read
  socket.once('close', () => {
    clearTimeout(timer)
    shared?.leave(release)
    held.length = 0
  })
  return true
}
