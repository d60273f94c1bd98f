import mqtt, { type IClientOptions, type MqttClient, type Packet } from 'mqtt'
import type { TestCert } from './pki.js'

export interface ClientSpec {
  readonly port: number
  /** SNI name; omitted: no SNI (mqtt.js sends none when the host is an IP). */
  readonly servername?: string
  readonly cert?: TestCert
  /** The CA the client trusts for the server certificate. */
  readonly caPem: string
  readonly clientId: string
  readonly clean?: boolean
  readonly will?: IClientOptions['will']
  /** Skip the server name check (a client that connects without SNI to an IP the server cert does not name). */
  readonly skipServerNameCheck?: boolean
  /** MQTT over TLS (the default), or over secure WebSocket at `/mqtt` on `port`. */
  readonly transport?: 'mqtts' | 'wss'
  /** ALPN protocols to offer (the shared port serves MQTT to `mqtt`). */
  readonly alpn?: readonly string[]
  /** A TLS session to resume. */
  readonly session?: Buffer
}

export type ConnectOutcome =
  | { readonly outcome: 'connected', readonly client: MqttClient }
  | { readonly outcome: 'connack', readonly returnCode: number }
  | { readonly outcome: 'closed', readonly error?: string }

/** Connects a real mqtt.js client over TLS to 127.0.0.1 and reports how it ended. */
export async function tryConnect (spec: ClientSpec): Promise<ConnectOutcome> {
  return await new Promise(resolve => {
    let settled = false
    let lastError: string | undefined
    const settle = (outcome: ConnectOutcome): void => {
      if (settled) return
      settled = true
      if (outcome.outcome !== 'connected') client.end(true)
      resolve(outcome)
    }
    const tlsOptions = {
      servername: spec.servername,
      ca: spec.caPem,
      ...(spec.cert === undefined ? {} : { cert: spec.cert.certPem, key: spec.cert.keyPem }),
      ...(spec.skipServerNameCheck === true ? { checkServerIdentity: () => undefined } : {}),
      ...(spec.alpn === undefined ? {} : { ALPNProtocols: [...spec.alpn] }),
      ...(spec.session === undefined ? {} : { session: spec.session }),
      rejectUnauthorized: true
    }
    const client = mqtt.connect({
      protocol: spec.transport ?? 'mqtts',
      host: '127.0.0.1',
      port: spec.port,
      ...tlsOptions,
      // mqtt.js hands a WebSocket's TLS options to `ws` through wsOptions (and would put the host in as SNI).
      ...(spec.transport === 'wss' ? { path: '/mqtt', wsOptions: { ...tlsOptions } as IClientOptions['wsOptions'] } : {}),
      clientId: spec.clientId,
      clean: spec.clean ?? true,
      will: spec.will,
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 5000
    })
    client.once('connect', () => settle({ outcome: 'connected', client }))
    client.on('error', (err: Error & { code?: unknown }) => {
      if (typeof err.code === 'number') settle({ outcome: 'connack', returnCode: err.code })
      else lastError = err.message
    })
    client.once('close', () => settle({ outcome: 'closed', error: lastError }))
  })
}

/** Connects or fails the test with how the connection ended. */
export async function connect (spec: ClientSpec): Promise<MqttClient> {
  const result = await tryConnect(spec)
  if (result.outcome !== 'connected') throw new Error(`expected a connection, got ${JSON.stringify(result)}`)
  return result.client
}

export interface Received {
  readonly topic: string
  readonly payload: string
  readonly qos: number
  readonly retain: boolean
}

/** Collects every message a client receives, in order. */
export function collect (client: MqttClient): { readonly messages: Received[], next: (timeoutMs?: number) => Promise<Received> } {
  const messages: Received[] = []
  let cursor = 0
  const waiters: Array<() => void> = []
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain })
    for (const wake of waiters.splice(0)) wake()
  })
  return {
    messages,
    async next (timeoutMs = 3000) {
      const deadline = Date.now() + timeoutMs
      while (cursor >= messages.length) {
        const left = deadline - Date.now()
        if (left <= 0) throw new Error(`no message within ${timeoutMs} ms`)
        await new Promise<void>(resolve => {
          const timer = setTimeout(resolve, left)
          waiters.push(() => { clearTimeout(timer); resolve() })
        })
      }
      return messages[cursor++]
    }
  }
}

/** Resolves when the client's connection closes (or at once if it is closed). */
export async function closed (client: MqttClient, timeoutMs = 3000): Promise<boolean> {
  if (!client.connected) return true
  return await new Promise(resolve => {
    const timer = setTimeout(() => resolve(false), timeoutMs)
    client.once('close', () => { clearTimeout(timer); resolve(true) })
  })
}

export async function endAll (...clients: Array<MqttClient | undefined>): Promise<void> {
  await Promise.all(clients.map(async c => { if (c !== undefined) await c.endAsync(true) }))
}

export const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

/**
 * SUBSCRIBE and the granted QoS per filter as the SUBACK carried them,
 * including 128 (refused), which mqtt.js reports only as an error.
 */
export async function subscribeGranted (client: MqttClient, filters: Record<string, { qos: 0 | 1 | 2 }>): Promise<number[]> {
  return await new Promise(resolve => {
    const onPacket = (packet: Packet): void => {
      if (packet.cmd !== 'suback') return
      client.off('packetreceive', onPacket)
      resolve(packet.granted as number[])
    }
    client.on('packetreceive', onPacket)
    client.subscribe(filters, () => {})
  })
}
