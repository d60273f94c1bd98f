import type { EventEmitter } from 'node:events'
import type { Duplex } from 'node:stream'
import type { Client } from 'aedes'
import { TokenBucket } from './token-bucket.js'

export interface PublishRateLimits {
  /** PUBLISH packets per second one client may send (sustained; a second's worth as a burst). */
  readonly messagesPerSecond: number
  /** PUBLISH bytes (whole packets) per second one client may send. */
  readonly bytesPerSecond: number
}

interface Packet { readonly cmd: string, readonly length?: number }

/** A rate the client shares with others (its organisation's, org-limits.ts), consulted beside its own. */
export interface SharedRate {
  /** Milliseconds until the shared rate lets the next PUBLISH through; 0 now. */
  waitMs (): number
  take (): void
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
  let starved = false
  const emit = parser.emit.bind(parser)

  const ownWaitMs = (): number => Math.max(messages.waitMs(), bytes.waitMs())
  const waitMs = (): number => Math.max(ownWaitMs(), shared?.waitMs() ?? 0)
  const pass = (packet: Packet): void => {
    if (packet.cmd === 'publish') {
      messages.take(1)
      // Remaining Length plus the fixed header (at least two bytes).
      bytes.take((packet.length ?? 0) + 2)
      shared?.take()
    }
    emit('packet', packet)
  }
  const release = (): void => {
    timer = undefined
    if (socket.destroyed) return
    while (held.length > 0 && waitMs() === 0) pass(held.shift() as Packet)
    if (held.length > 0) {
      timer = setTimeout(release, waitMs())
    } else if (starved) {
      starved = false
      socket.emit('readable')
    }
  }

  parser.emit = function gatedEmit (event: string | symbol, ...args: unknown[]): boolean {
    if (event !== 'packet') return emit(event, ...args)
    const packet = args[0] as Packet
    // Held packets keep their order: whatever follows one waits behind it.
    if (held.length === 0 && (packet.cmd !== 'publish' || waitMs() === 0)) {
      pass(packet)
      return true
    }
    if (held.length === 0) {
      if (ownWaitMs() > 0) onThrottled('client')
      if ((shared?.waitMs() ?? 0) > 0) onThrottled('shared')
    }
    held.push(packet)
    timer ??= setTimeout(release, waitMs())
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
    held.length = 0
  })
  return true
}
