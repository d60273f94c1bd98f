import type { Duplex } from 'node:stream'

/**
 * Neither aedes nor mqtt-packet limits packet size: a PUBLISH that declares
 * 256 MiB is buffered until it arrives. The guard reads each packet's fixed
 * header (MQTT 3.1.1 §2.2: one type byte, then the Remaining Length in at most
 * four 7-bit groups) as the bytes pass, and reports the first packet that
 * would exceed the limit, before more than a chunk of it is buffered.
 */
export class FrameGuard {
  private state: 'type' | 'length' | 'body' = 'type'
  private declared = 0
  private multiplier = 1
  private lengthBytes = 0
  private remaining = 0

  constructor (private readonly maxPacketBytes: number) {}

  /** Undefined while the stream is within bounds; otherwise why it is not. */
  feed (chunk: Buffer): { readonly code: 'BROKER_ERR_PACKET_TOO_LARGE' | 'BROKER_ERR_PACKET_MALFORMED', readonly declared?: number } | undefined {
    let offset = 0
    while (offset < chunk.length) {
      if (this.state === 'body') {
        const skip = Math.min(this.remaining, chunk.length - offset)
        this.remaining -= skip
        offset += skip
        if (this.remaining === 0) this.state = 'type'
        continue
      }
      const byte = chunk[offset++]
      if (this.state === 'type') {
        this.state = 'length'
        this.declared = 0
        this.multiplier = 1
        this.lengthBytes = 0
        continue
      }
      this.declared += (byte & 0x7f) * this.multiplier
      this.multiplier *= 128
      this.lengthBytes++
      if ((byte & 0x80) !== 0) {
        // [MQTT-2.2.3]: at most four bytes of Remaining Length.
        if (this.lengthBytes === 4) return { code: 'BROKER_ERR_PACKET_MALFORMED' }
        continue
      }
      if (1 + this.lengthBytes + this.declared > this.maxPacketBytes) return { code: 'BROKER_ERR_PACKET_TOO_LARGE', declared: this.declared }
      this.remaining = this.declared
      this.state = this.remaining === 0 ? 'type' : 'body'
    }
    return undefined
  }
}

/**
 * Watches what aedes reads from the socket. With aedes' 'readable' listener in
 * place, a 'data' listener does not switch the stream to flowing mode: it sees
 * each chunk when aedes reads it, just before aedes parses it, so it must be
 * attached after aedes.handle().
 */
export function guardFrames (socket: Duplex, maxPacketBytes: number, onViolation: (violation: NonNullable<ReturnType<FrameGuard['feed']>>) => void): void {
  const guard = new FrameGuard(maxPacketBytes)
  const watch = (chunk: Buffer): void => {
    const violation = guard.feed(chunk)
    if (violation === undefined) return
    socket.off('data', watch)
    onViolation(violation)
    socket.destroy()
  }
  socket.on('data', watch)
}
