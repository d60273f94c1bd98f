import type { PublishPacket } from 'aedes'
import type { Session } from '../access/index.js'
import { BrokerError } from './errors.js'
import type { SchemeTopic } from './topics.js'

/**
 * Where accepted readings go before the device is acknowledged (the bridge's
 * durable log): `append` resolves once the reading is stored, and only then
 * does aedes send PUBACK, so an acknowledged reading is never only in memory.
 */
export interface ReadingSink {
  accepts (topic: SchemeTopic): boolean
  append (reading: { orgId: string, typeId: string, deviceId: string, payload: Buffer, receivedAt: number }): Promise<unknown>
}

/** Queues the readings among authorized publishes, and counts those still being queued (shutdown waits for them). */
export class ReadingQueue {
  private pending = 0

  constructor (private readonly sink: ReadingSink | undefined) {}

  get inFlight (): number {
    return this.pending
  }

  /** Runs `step` (a publish's work before its PUBACK) counted as in flight. */
  async during<T> (step: () => Promise<T>): Promise<T> {
    this.pending++
    try {
      return await step()
    } finally {
      this.pending--
    }
  }

  /** Stores the reading a publish carries, if it is one; refuses the publish if it cannot be stored. */
  async queue (session: Session, topic: SchemeTopic, packet: PublishPacket): Promise<void> {
    const sink = this.sink
    if (sink === undefined || !sink.accepts(topic)) return
    const reading = { orgId: session.orgId, typeId: topic.typeId, deviceId: topic.id, payload: Buffer.from(packet.payload ?? ''), receivedAt: Date.now() }
    try {
      await sink.append(reading)
    } catch (err) {
      // No PUBACK: the device keeps the reading and sends it again after reconnecting.
      session.log.error({ event: 'reading.not-queued', code: 'BROKER_ERR_READING_NOT_QUEUED', err }, 'could not queue a reading; refusing the publish')
      throw new BrokerError('BROKER_ERR_READING_NOT_QUEUED', 'the reading could not be queued')
    }
  }
}
