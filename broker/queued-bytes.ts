import type { Duplex } from 'node:stream'
import type { Client } from 'aedes'

type Deliver = (packet: Delivery, cb: () => void) => void

interface Delivery { readonly topic: string, readonly payload?: Buffer | string, readonly qos: number, readonly retain?: boolean }

/** What became of a delivery over the bound: a QoS 0 (or clean-session QoS 1) message is gone; a persistent session's QoS 1 stays in the store. */
export type Overflow = 'dropped' | 'left-in-store'

/**
 * Bounds what the broker holds for one subscriber, in bytes, as Mosquitto's
 * max_queued_bytes. aedes writes each delivery to the socket whatever its
 * backlog (write.js only waits for 'drain' to call back), and mqemitter does
 * not release a message until every subscriber's write called back; so one
 * subscriber that stops reading holds every message behind it for the drain
 * timeout: on Redis, where mqemitter-redis emits whatever arrives on the
 * pub/sub connection, hundreds of MiB in 5 s.
 *
 * Here each delivery the client accepts is counted (with the socket's own
 * backlog) until aedes reports it written, and mqemitter is released at once,
 * so a slow subscriber no longer holds the others. Over the bound a QoS 0
 * delivery (and a QoS 1 one of a clean session, which has nowhere else to
 * wait) is dropped; a QoS 1 delivery of a persistent session is not written:
 * aedes stored it in the session's outgoing queue before routing it
 * (enqueueOffline), and it is sent from there at the session's next CONNECT.
 *
 * `deliver0` / `deliverQoS` are set per client by aedes 1.x's constructor and
 * chosen at SUBSCRIBE, so they are wrapped before the client's first packet.
 */
export function limitQueuedBytes (socket: Duplex, client: Client, maxBytes: number, onOverflow: (outcome: Overflow) => void): boolean {
  const own = client as unknown as { deliver0?: Deliver, deliverQoS?: Deliver, clean: boolean }
  const deliver0 = own.deliver0
  const deliverQoS = own.deliverQoS
  if (typeof deliver0 !== 'function' || typeof deliverQoS !== 'function') return false
  let pending = 0

  const gate = (deliver: Deliver, packet: Delivery, cb: () => void): void => {
    const size = Buffer.byteLength(packet.topic) + (packet.payload?.length ?? 0) + 5
    if (pending + socket.writableLength + size > maxBytes) {
      // A retained message replayed at SUBSCRIBE is in the retained store, not the session's queue.
      onOverflow(packet.qos > 0 && !own.clean && packet.retain !== true ? 'left-in-store' : 'dropped')
      // Asynchronously, as aedes does: mqemitter releasing the next message inside this call would recurse.
      setImmediate(cb)
      return
    }
    pending += size
    deliver(packet, () => { pending -= size })
    setImmediate(cb)
  }
  own.deliver0 = (packet, cb) => gate(deliver0, packet, cb)
  // deliverQoS hands a QoS 0 message to `this.deliver0`, the wrapper above: pass it there directly.
  own.deliverQoS = (packet, cb) => packet.qos === 0 ? own.deliver0?.(packet, cb) : gate(deliverQoS, packet, cb)
  return true
}
