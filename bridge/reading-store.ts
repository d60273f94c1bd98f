import type { Reading } from './reading.js'

/** A reading as the temps API returns it: the seed's fields, plus a stable id. */
export interface StoredReading {
  readonly id: string
  readonly temperature: number
  readonly time: string
}

export interface DeviceKey {
  readonly orgId: string
  readonly typeId: string
  readonly deviceId: string
}

/**
 * Readings per organisation and device, newest first, for mobile queries.
 * Storing is idempotent (a reading delivered twice is stored once, keyed by
 * its content id) and keeps the newest `cap` readings of each device.
 */
export interface ReadingStore {
  add (readings: readonly Reading[]): Promise<void>
  /** The device's newest readings first, or undefined when the device has none. */
  latest (device: DeviceKey, limit: number): Promise<StoredReading[] | undefined>
  close (): Promise<void>
}

export const DEFAULT_READINGS_PER_DEVICE = 10_000

export function storedFrom (reading: Reading): StoredReading {
  return { id: reading.id, temperature: reading.temperature, time: reading.time }
}

/** The store of `mqgate start` on embedded defaults: one process, in memory. */
export class MemoryReadingStore implements ReadingStore {
  private readonly devices = new Map<string, Array<StoredReading & { timeMs: number }>>()

  constructor (private readonly cap = DEFAULT_READINGS_PER_DEVICE) {}

  async add (readings: readonly Reading[]): Promise<void> {
    for (const reading of readings) {
      const key = deviceKey(reading)
      const list = this.devices.get(key) ?? []
      if (list.some(r => r.id === reading.id)) continue
      const at = list.findIndex(r => r.timeMs < reading.timeMs)
      list.splice(at === -1 ? list.length : at, 0, { ...storedFrom(reading), timeMs: reading.timeMs })
      if (list.length > this.cap) list.length = this.cap
      this.devices.set(key, list)
    }
  }

  async latest (device: DeviceKey, limit: number): Promise<StoredReading[] | undefined> {
    return this.devices.get(deviceKey(device))?.slice(0, limit).map(({ id, temperature, time }) => ({ id, temperature, time }))
  }

  async close (): Promise<void> {}
}

export function deviceKey (device: DeviceKey): string {
  return `${device.orgId}:${device.typeId}:${device.deviceId}`
}
