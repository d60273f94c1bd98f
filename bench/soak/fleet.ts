import { X509Certificate } from 'node:crypto'
import mqtt, { type MqttClient } from 'mqtt'
import pMap from 'p-map'
import type { Cert } from '../wire.js'

export const READING_TOPIC = 'iot-2/evt/temp/fmt/json'

/** One soak device: an mqtt.js client with its own certificate, reconnecting by itself as a device would. */
export interface Device {
  readonly index: number
  readonly client: MqttClient
  /** SHA-256 of its certificate, hex: what the admin API revokes it by. */
  readonly fingerprint: string
  /** Revoked: publishes no more. */
  stopped: boolean
  /** The newest reading time it sent: each reading of a device has its own instant, its key in the ledger. */
  lastTimeMs: number
  /** Readings sent and not yet acknowledged. */
  inFlight: number
}

export interface FleetHooks {
  published (device: number, timeMs: number): void
  acknowledged (device: number, timeMs: number): void
}

/** What the clients saw, for the report. */
export interface FleetEvents {
  connects: number
  closes: number
  errors: Map<string, number>
}

/**
 * `certs.length` devices of the demo organisation (`d:soak:s<i>`), connected
 * over mqtt.js with client certificates, 16 handshakes at a time. They
 * reconnect by themselves after a drop (1 s), and mqtt.js sends again what
 * got no PUBACK: a device keeps a reading until it is acknowledged.
 */
export async function connectFleet (port: number, caPem: string, certs: readonly Cert[], events: FleetEvents): Promise<Device[]> {
  return await pMap(certs, async (cert, index) => {
    const client = mqtt.connect({
      protocol: 'mqtts',
      host: '127.0.0.1',
      port,
      servername: 'demo.messaging.localhost',
      ca: caPem,
      cert: cert.certPem,
      key: cert.keyPem,
      clientId: `d:demo:soak:s${index}`,
      clean: true,
      protocolVersion: 4,
      keepalive: 60,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      // A device whose CONNECT is refused while Redis restarts tries again, as firmware does.
      reconnectOnConnackError: true
    })
    client.on('connect', () => { events.connects++ })
    client.on('close', () => { events.closes++ })
    client.on('error', err => { events.errors.set(err.message, (events.errors.get(err.message) ?? 0) + 1) })
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`d:soak:s${index} did not connect within 60 s`)), 60_000)
      client.once('connect', () => { clearTimeout(timer); resolve() })
    })
    return { index, client, fingerprint: new X509Certificate(cert.certPem).fingerprint256.replaceAll(':', '').toLowerCase(), stopped: false, lastTimeMs: 0, inFlight: 0 }
  }, { concurrency: 16 })
}

/** One reading from the device, QoS 1; the hooks hear of it when sent and when its PUBACK arrives. */
export function publishReading (device: Device, hooks: FleetHooks): void {
  const timeMs = Math.max(Date.now(), device.lastTimeMs + 1)
  device.lastTimeMs = timeMs
  const payload = JSON.stringify({ temperature: 15 + (timeMs % 200) / 10, time: new Date(timeMs).toISOString() })
  device.inFlight++
  hooks.published(device.index, timeMs)
  device.client.publish(READING_TOPIC, payload, { qos: 1 }, err => {
    device.inFlight--
    if (err === undefined || err === null) hooks.acknowledged(device.index, timeMs)
  })
}

/**
 * `rate` readings a second in all, from the devices in turn (each device
 * every `devices / rate` seconds), until `running()` says stop. A tick of
 * 10 ms: a loop that publishes in bursts would time the bursts, not the gateway.
 */
export async function publishAtRate (devices: readonly Device[], rate: number, hooks: FleetHooks, running: () => boolean): Promise<number> {
  const started = performance.now()
  let sent = 0
  let next = 0
  while (running()) {
    const due = Math.floor((performance.now() - started) * rate / 1000)
    for (let tries = 0; sent < due && tries < devices.length * 2; tries++) {
      const device = devices[next++ % devices.length]
      if (device.stopped) continue
      publishReading(device, hooks)
      sent++
    }
    await new Promise(resolve => setTimeout(resolve, 10))
  }
  return sent
}

/** Drops the device's connection as a network would (no DISCONNECT); mqtt.js reconnects and resends. */
export function dropConnection (device: Device): void {
  device.client.stream.destroy()
}

/**
 * Stops the device and waits until the broker closes its connection (a
 * revocation kicks it) or `ms` pass; the client is then ended for good.
 * Whether and when it was kicked, in ms.
 */
export async function retireDevice (device: Device, revoke: () => Promise<void>, ms: number): Promise<number | undefined> {
  device.stopped = true
  const started = performance.now()
  const kicked = new Promise<number | undefined>(resolve => {
    const timer = setTimeout(() => resolve(undefined), ms)
    device.client.once('close', () => { clearTimeout(timer); resolve(performance.now() - started) })
  })
  await revoke()
  const after = await kicked
  await new Promise<void>(resolve => device.client.end(true, {}, () => resolve()))
  return after
}

/** Waits until the active devices have no reading without PUBACK, or `ms` pass. */
export async function settle (devices: readonly Device[], ms: number): Promise<number> {
  const deadline = Date.now() + ms
  const waiting = (): number => devices.filter(d => !d.stopped).reduce((sum, d) => sum + d.inFlight, 0)
  while (waiting() > 0 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 200))
  return waiting()
}

export async function closeFleet (devices: readonly Device[]): Promise<void> {
  await Promise.all(devices.map(async d => await new Promise<void>(resolve => d.client.end(true, {}, () => resolve()))))
}
