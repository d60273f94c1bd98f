import tls from 'node:tls'
import mqttPacket from 'mqtt-packet'
import type { Target } from './targets.js'
import type { Cert } from './wire.js'

/** CONNACK, accepted ([MQTT-3.2.2-3]: 0x20, remaining length 2, flags, return code 0). */
const CONNACK_ACCEPTED = 0
const DISCONNECT = Buffer.from([0xe0, 0x00])

/**
 * The connect scenario's load generator, made to cost the bench's core as
 * little as a device costs its own: each lane builds its device's TLS context
 * (certificate, P-256 key, trusted CA) once, encodes its CONNECT once, and
 * per connect only does the handshake, writes those bytes, reads CONNACK and
 * writes a DISCONNECT. A client that parses its PEM files per connect (as
 * `tls.connect({ cert, key, ca })` does) spends more than the broker, and with
 * the bench's core saturated the broker idles between connects and pays
 * per-wakeup costs that a loaded broker shares.
 */
export class ConnectLane {
  private readonly context: tls.SecureContext
  private readonly connect: Buffer
  private ticket: Buffer | undefined

  constructor (private readonly target: Target, cert: Cert, clientId: string) {
    this.context = tls.createSecureContext({ cert: cert.certPem, key: cert.keyPem, ca: target.caPem })
    this.connect = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 60 })
  }

  /** One connect; `resume` offers the lane's last session ticket. Resolves with whether the handshake resumed. */
  async once (resume: boolean): Promise<boolean> {
    return await new Promise<boolean>((resolve, reject) => {
      const socket = tls.connect({
        host: '127.0.0.1',
        port: this.target.mqttPort,
        servername: 'demo.messaging.localhost',
        secureContext: this.context,
        checkServerIdentity: () => undefined,
        ...(resume && this.ticket !== undefined ? { session: this.ticket } : {})
      })
      let reused: boolean | undefined
      socket.on('session', ticket => { this.ticket = ticket })
      // The broker closes on DISCONNECT, maybe before reading the client's close_notify: a reset then is no failure.
      socket.on('error', err => { if (reused === undefined) reject(err) })
      socket.once('secureConnect', () => socket.write(this.connect))
      socket.once('data', (chunk: Buffer) => {
        if (chunk[0] !== 0x20 || chunk[3] !== CONNACK_ACCEPTED) {
          socket.destroy()
          reject(new Error(`connect refused: ${chunk.subarray(0, 4).toString('hex')}`))
          return
        }
        reused = socket.isSessionReused()
        socket.end(DISCONNECT)
      })
      socket.once('close', () => { if (reused === undefined) reject(new Error('connection closed before CONNACK')); else resolve(reused) })
    })
  }
}
