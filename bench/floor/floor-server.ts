/**
 * The bench's floor: what Node's TLS and MQTT framing cost with no broker
 * behind them. A `node:tls` server configured as mqgate's MQTT listener
 * (client certificates required and verified, TLS 1.2 and 1.3, Nagle off)
 * that parses MQTT 3.1.1 with mqtt-packet, as aedes does, and answers the way
 * the bench's scenarios need: CONNACK to every CONNECT, SUBACK granting what
 * was asked, every PUBLISH written to every subscriber (no topic matching: in
 * these scenarios every subscription matches every publish), PUBACK for QoS 1,
 * PINGRESP, and a close on DISCONNECT. No identity, no authorisation, no
 * sessions, queues or limits: a broker in Node cannot cost less per connect,
 * message or idle connection than this, so mqgate's figure over this one is
 * what aedes and mqgate add, and this one over Mosquitto's what Node costs.
 *
 * Run as its own process (floor-target.ts): reads FLOOR_KEY, FLOOR_CERT and
 * FLOOR_CLIENT_CA (PEM files), prints `port <n>` once listening.
 */
import { readFileSync } from 'node:fs'
import tls from 'node:tls'
import mqttPacket, { type Packet } from 'mqtt-packet'

const CONNACK = Buffer.from([0x20, 0x02, 0x00, 0x00])
const PINGRESP = Buffer.from([0xd0, 0x00])

interface Subscriber { readonly socket: tls.TLSSocket, readonly qos: 0 | 1, nextId: number }

const subscribers = new Set<Subscriber>()

const server = tls.createServer({
  key: readFileSync(process.env.FLOOR_KEY as string),
  cert: readFileSync(process.env.FLOOR_CERT as string),
  ca: readFileSync(process.env.FLOOR_CLIENT_CA as string),
  requestCert: true,
  rejectUnauthorized: true,
  minVersion: 'TLSv1.2',
  noDelay: true
}, serve)
server.on('tlsClientError', () => {})
server.listen(0, '127.0.0.1', () => process.stdout.write(`port ${(server.address() as { port: number }).port}\n`))
process.on('SIGTERM', () => process.exit(0))

function serve (socket: tls.TLSSocket): void {
  const parser = mqttPacket.parser({ protocolVersion: 4 })
  let subscriber: Subscriber | undefined
  socket.on('error', () => {})
  socket.on('close', () => { if (subscriber !== undefined) subscribers.delete(subscriber) })
  socket.on('data', chunk => parser.parse(chunk))
  parser.on('error', () => socket.destroy())
  parser.on('packet', (packet: Packet) => {
    switch (packet.cmd) {
      case 'connect': socket.write(CONNACK); break
      case 'subscribe': {
        const qos = Math.min(1, packet.subscriptions[0]?.qos ?? 0) as 0 | 1
        subscriber = { socket, qos, nextId: 0 }
        subscribers.add(subscriber)
        socket.write(mqttPacket.generate({ cmd: 'suback', messageId: packet.messageId, granted: packet.subscriptions.map(() => qos) }))
        break
      }
      case 'publish': deliver(packet, socket); break
      case 'pingreq': socket.write(PINGRESP); break
      case 'disconnect': socket.end(); break
      default: break
    }
  })
}

function deliver (packet: mqttPacket.IPublishPacket, from: tls.TLSSocket): void {
  for (const sub of subscribers) {
    const qos = Math.min(packet.qos, sub.qos) as 0 | 1
    sub.nextId = sub.nextId % 65535 + 1
    sub.socket.write(mqttPacket.generate({ cmd: 'publish', topic: packet.topic, payload: packet.payload, qos, retain: false, dup: false, messageId: qos === 1 ? sub.nextId : undefined }))
  }
  if (packet.qos === 1) from.write(Buffer.from([0x40, 0x02, (packet.messageId ?? 0) >> 8, (packet.messageId ?? 0) & 0xff]))
}
