import { EventEmitter } from 'node:events'
import tls from 'node:tls'
import mqttPacket, { type Packet } from 'mqtt-packet'

export interface Cert {
  readonly certPem: string
  readonly keyPem: string
}

/**
 * One MQTT 3.1.1 connection over mTLS driven with mqtt-packet: the bench's
 * clients share a core, so they must cost far less than mqtt.js would.
 */
export interface Wire {
  readonly socket: tls.TLSSocket
  /** Whether the TLS handshake resumed a session. */
  readonly reused: boolean
  /** Every packet the broker sends (`packet` events). */
  readonly packets: EventEmitter
  /** The newest TLS session ticket the server sent, for a resumed connect later. */
  session (): Buffer | undefined
  send (packet: Packet): boolean
  close (): Promise<void>
}

export interface WireOptions {
  readonly port: number
  readonly caPem: string
  readonly cert: Cert
  readonly clientId: string
  readonly session?: Buffer
  readonly keepalive?: number
}

export async function openWire (options: WireOptions): Promise<Wire> {
  const socket = tls.connect({
    host: '127.0.0.1',
    port: options.port,
    servername: 'demo.messaging.localhost',
    ca: options.caPem,
    cert: options.cert.certPem,
    key: options.cert.keyPem,
    checkServerIdentity: () => undefined,
    ...(options.session === undefined ? {} : { session: options.session })
  })
  let session: Buffer | undefined
  socket.on('session', ticket => { session = ticket })
  socket.on('error', () => {})
  const packets = new EventEmitter()
  const parser = mqttPacket.parser({ protocolVersion: 4 })
  parser.on('packet', packet => packets.emit('packet', packet))
  parser.on('error', () => socket.destroy())
  socket.on('data', chunk => parser.parse(chunk))
  const send = (packet: Packet): boolean => socket.destroyed ? false : socket.write(mqttPacket.generate(packet))
  await new Promise<void>((resolve, reject) => {
    const onClose = (): void => reject(new Error(`connection closed before CONNACK (${options.clientId})`))
    socket.once('close', onClose)
    socket.once('secureConnect', () => send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: options.clientId, keepalive: options.keepalive ?? 60 }))
    packets.once('packet', (packet: Packet) => {
      socket.off('close', onClose)
      if (packet.cmd === 'connack' && packet.returnCode === 0) resolve()
      else reject(new Error(`connect refused for ${options.clientId}: ${JSON.stringify(packet)}`))
    })
  })
  return {
    socket,
    reused: socket.isSessionReused(),
    packets,
    session: () => session,
    send,
    async close () {
      if (socket.destroyed) return
      send({ cmd: 'disconnect' })
      await new Promise<void>(resolve => { socket.once('close', () => resolve()); socket.end() })
    }
  }
}

export async function subscribe (wire: Wire, topic: string, qos: 0 | 1): Promise<number> {
  const granted = new Promise<number>(resolve => {
    const onPacket = (packet: Packet): void => {
      if (packet.cmd !== 'suback') return
      wire.packets.off('packet', onPacket)
      resolve(packet.granted[0] as number)
    }
    wire.packets.on('packet', onPacket)
  })
  wire.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos }] })
  return await granted
}
