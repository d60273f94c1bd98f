import tls from 'node:tls'
import mqttPacket, { type Packet } from 'mqtt-packet'
import type { TestCert } from './pki.js'

/**
 * MQTT over a TLS socket driven by hand (mqtt-packet to build and parse), for
 * what mqtt.js will not do: resume a TLS session under another SNI name, send
 * malformed or oversized packets, or skip CONNECT.
 */
export interface RawConnection {
  readonly socket: tls.TLSSocket
  /** The TLS session to resume later (TLS 1.3 sends it after the handshake). */
  session (): Promise<Buffer>
  send (packet: Packet | Buffer): void
  /** The next packet the broker sends, or undefined if the connection closed first. */
  next (timeoutMs?: number): Promise<Packet | undefined>
  /** Resolves when the broker closes the connection (true), or false after the timeout. */
  closed (timeoutMs?: number): Promise<boolean>
  end (): void
}

export interface RawOptions {
  readonly port: number
  readonly caPem: string
  readonly servername?: string
  readonly cert?: TestCert
  readonly session?: Buffer
  readonly maxVersion?: tls.SecureVersion
}

export async function connectRaw (options: RawOptions): Promise<RawConnection> {
  const socket = tls.connect({
    host: '127.0.0.1',
    port: options.port,
    servername: options.servername,
    ca: options.caPem,
    checkServerIdentity: () => undefined,
    ...(options.cert === undefined ? {} : { cert: options.cert.certPem, key: options.cert.keyPem }),
    ...(options.session === undefined ? {} : { session: options.session }),
    ...(options.maxVersion === undefined ? {} : { maxVersion: options.maxVersion })
  })
  const parser = mqttPacket.parser({ protocolVersion: 4 })
  const packets: Packet[] = []
  const waiters: Array<() => void> = []
  let isClosed = false
  const wake = (): void => { for (const w of waiters.splice(0)) w() }
  parser.on('packet', (packet: Packet) => { packets.push(packet); wake() })
  parser.on('error', () => socket.destroy())
  socket.on('data', chunk => parser.parse(chunk))
  socket.on('error', () => {})
  socket.on('close', () => { isClosed = true; wake() })
  const sessionPromise = new Promise<Buffer>(resolve => socket.once('session', resolve))
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', () => resolve())
    socket.once('error', reject)
    socket.once('close', () => resolve())
  })
  const waitFor = async <T>(check: () => T | undefined, timeoutMs: number): Promise<T | undefined> => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const value = check()
      if (value !== undefined || isClosed || Date.now() > deadline) return value
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()))
        waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
  }
  return {
    socket,
    session: async () => await sessionPromise,
    send: packet => { if (!socket.destroyed) socket.write(Buffer.isBuffer(packet) ? packet : mqttPacket.generate(packet)) },
    next: async (timeoutMs = 3000) => await waitFor(() => packets.shift(), timeoutMs),
    closed: async (timeoutMs = 3000) => (await waitFor(() => isClosed ? true : undefined, timeoutMs)) === true,
    end: () => socket.destroy()
  }
}

/** A CONNECT packet for `clientId` (MQTT 3.1.1). */
export function connectPacket (clientId: string, extra: Partial<mqttPacket.IConnectPacket> = {}): mqttPacket.IConnectPacket {
  return { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 30, ...extra }
}
