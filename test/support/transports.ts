import https from 'node:https'
import tls from 'node:tls'
import type { MqttClient } from 'mqtt'
import type { LogSink } from './log-sink.js'
import { tryConnect } from './mqtt-client.js'
import type { TestCert } from './pki.js'
import { httpsRequest } from './stack.js'

/**
 * Every way into the gateway, behind one interface, so that one suite of
 * refusal cases runs against each (test/access/transports.contract.test.ts),
 * as aedes-persistence's abstract suite runs against each store. MQTT
 * transports read the refusal's code from the gateway's log line (the client
 * only sees CONNACK 5 or a close); HTTPS ones from the 403 body.
 */
export interface Attempt {
  readonly cert?: TestCert
  readonly servername: string
  readonly clientId: string
  /** A TLS session to resume (made by `sessionOf`). */
  readonly session?: Buffer
}

/** A connection accepted and kept open: `refusal` resolves with the code it is refused with later, or times out. */
export interface LiveConnection {
  refusal (withinMs: number): Promise<string>
  close (): Promise<void>
}

export interface Transport {
  readonly name: string
  /** `accepted`, or the code the gateway refused the attempt with. */
  attempt (attempt: Attempt): Promise<string>
  live (cert: TestCert, servername: string, clientId: string): Promise<LiveConnection>
  /** A TLS session of a full handshake with this certificate under this name, to resume later. */
  sessionOf (cert: TestCert, servername: string): Promise<Buffer>
}

export interface TransportTarget {
  readonly port: () => number
  /** The CAs of the server certificates the attempts may meet. */
  readonly caPem: () => string
  readonly logs: LogSink
}

const REFUSAL_EVENTS = new Set(['tls.refused', 'connect.refused', 'session.closed'])

async function refusalLogged (logs: LogSink, from: number, withinMs: number, clientId?: string): Promise<string> {
  const deadline = Date.now() + withinMs
  for (;;) {
    const line = logs.lines.slice(from).find(l => REFUSAL_EVENTS.has(l.event) && (clientId === undefined || l.event !== 'session.closed' || l.clientId === clientId))
    if (line !== undefined) return String(line.code)
    if (Date.now() > deadline) throw new Error(`no refusal logged within ${withinMs} ms`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

/** MQTT with mqtt.js over TLS or secure WebSocket, offering `alpn` when given. */
export function mqttTransport (name: string, target: TransportTarget, kind: 'mqtts' | 'wss', alpn?: readonly string[]): Transport {
  const spec = (a: Attempt): Parameters<typeof tryConnect>[0] => ({
    port: target.port(), transport: kind, alpn, servername: a.servername, caPem: target.caPem(), cert: a.cert, clientId: a.clientId, session: a.session, skipServerNameCheck: true
  })
  return {
    name,
    async attempt (a) {
      const from = target.logs.lines.length
      const result = await tryConnect(spec(a))
      if (result.outcome === 'connected') {
        result.client.end(true)
        return 'accepted'
      }
      return await refusalLogged(target.logs, from, 3000)
    },
    async live (cert, servername, clientId) {
      const result = await tryConnect(spec({ cert, servername, clientId }))
      if (result.outcome !== 'connected') throw new Error(`${name}: expected a connection, got ${JSON.stringify(result)}`)
      const client: MqttClient = result.client
      const closed = new Promise<void>(resolve => client.once('close', () => resolve()))
      const from = target.logs.lines.length
      return {
        async refusal (withinMs) {
          await Promise.race([closed, new Promise((_resolve, reject) => setTimeout(() => reject(new Error(`${name}: still connected after ${withinMs} ms`)), withinMs))])
          return await refusalLogged(target.logs, from, 1000, clientId)
        },
        async close () { client.end(true) }
      }
    },
    sessionOf: async (cert, servername) => await tlsSession(target, cert, servername, alpn)
  }
}

/** HTTPS to the temps API's `GET /temps`, as a device does. */
export function httpsTransport (name: string, target: TransportTarget): Transport {
  const codeOf = (answer: { status: number, body: any }): string => answer.status === 200 ? 'accepted' : String(answer.body?.error?.code ?? answer.status)
  return {
    name,
    async attempt (a) {
      return codeOf(await httpsRequest(target.port(), { path: '/temps', caPem: target.caPem(), cert: a.cert, servername: a.servername, session: a.session }))
    },
    async live (cert, servername) {
      // One kept-alive connection: the second request rides the handshake of the first.
      const agent = new https.Agent({ keepAlive: true, maxSockets: 1 })
      const request = async (): Promise<{ status: number, body: any }> => await httpsRequest(target.port(), { path: '/temps', caPem: target.caPem(), cert, servername, agent })
      const first = await request()
      if (first.status !== 200) throw new Error(`${name}: expected 200, got ${first.status}`)
      return {
        async refusal (withinMs) {
          const deadline = Date.now() + withinMs
          for (;;) {
            const code = codeOf(await request())
            if (code !== 'accepted') return code
            if (Date.now() > deadline) throw new Error(`${name}: still accepted after ${withinMs} ms`)
            await new Promise(resolve => setTimeout(resolve, 50))
          }
        },
        async close () { agent.destroy() }
      }
    },
    sessionOf: async (cert, servername) => await tlsSession(target, cert, servername, ['http/1.1'])
  }
}

/** A full handshake's TLS session (TLS 1.3 sends it after the handshake). */
async function tlsSession (target: TransportTarget, cert: TestCert, servername: string, alpn?: readonly string[]): Promise<Buffer> {
  return await new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port: target.port(),
      servername,
      ca: target.caPem(),
      cert: cert.certPem,
      key: cert.keyPem,
      checkServerIdentity: () => undefined,
      ...(alpn === undefined ? {} : { ALPNProtocols: [...alpn] })
    })
    socket.once('session', session => { socket.destroy(); resolve(session) })
    socket.once('error', reject)
  })
}
