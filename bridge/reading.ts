import { createHash } from 'node:crypto'
import { BridgeError } from './errors.js'

/** The largest reading payload accepted (the temps API's body limit too). */
export const MAX_READING_BYTES = 16 * 1024

/** A validated temperature reading of one device (design.md, "Readings"). */
export interface Reading {
  /** Deterministic from the content, so a reading delivered twice is stored once. */
  readonly id: string
  readonly orgId: string
  readonly typeId: string
  readonly deviceId: string
  readonly temperature: number
  /** As the device sent it (the seed echoes it back). */
  readonly time: string
  /** `time` as epoch milliseconds, for ordering. */
  readonly timeMs: number
}

export interface ReadingSource {
  readonly orgId: string
  readonly typeId: string
  readonly deviceId: string
}

// ISO 8601 instant: a full date and time with seconds and an offset; anything
// vaguer ("2020-09-28", "yesterday", epoch numbers) is not an instant.
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/
const NUMERIC = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/

/**
 * The only place a reading payload is decoded and checked: `{"temperature":
 * 36.6, "time": "2020-09-28T02:54:56Z"}`, temperature a finite number or a
 * numeric string (`0` included), time an ISO 8601 instant. Throws BridgeError.
 */
export function parseReading (source: ReadingSource, payload: Buffer | string): Reading {
  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload
  if (bytes.length > MAX_READING_BYTES) throw new BridgeError('BRIDGE_ERR_PAYLOAD_TOO_LARGE', `the payload is ${bytes.length} bytes; at most ${MAX_READING_BYTES}`)
  const body = decodeJson(bytes)
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new BridgeError('BRIDGE_ERR_PAYLOAD_NOT_OBJECT', 'the payload must be a JSON object {"temperature": ..., "time": ...}')
  }
  const temperature = readTemperature((body as Record<string, unknown>).temperature)
  const { time, timeMs } = readTime((body as Record<string, unknown>).time)
  const { orgId, typeId, deviceId } = source
  return { id: readingId(source, temperature, timeMs), orgId, typeId, deviceId, temperature, time, timeMs }
}

/** One decoder for all: decode() without `stream` keeps no state between calls. */
const UTF8 = new TextDecoder('utf-8', { fatal: true })

function decodeJson (bytes: Buffer): unknown {
  try {
    return JSON.parse(UTF8.decode(bytes))
  } catch {
    throw new BridgeError('BRIDGE_ERR_PAYLOAD_NOT_JSON', 'the payload is not UTF-8 JSON')
  }
}

function readTemperature (value: unknown): number {
  const number = typeof value === 'number' ? value : typeof value === 'string' && NUMERIC.test(value) ? Number(value) : NaN
  if (!Number.isFinite(number)) {
    throw new BridgeError('BRIDGE_ERR_TEMPERATURE_INVALID', 'temperature must be a finite number or a numeric string, e.g. 36.6 or "36.6"')
  }
  return number
}

function readTime (value: unknown): { time: string, timeMs: number } {
  const timeMs = typeof value === 'string' && INSTANT.test(value) ? Date.parse(value) : NaN
  if (!Number.isFinite(timeMs) || !calendarValid(value as string)) {
    throw new BridgeError('BRIDGE_ERR_TIME_INVALID', 'time must be an ISO 8601 instant, e.g. "2020-09-28T02:54:56Z"')
  }
  return { time: value as string, timeMs }
}

/** Date.parse rolls 2020-02-31 over to March; an instant must name a real day and time. */
function calendarValid (text: string): boolean {
  // INSTANT fixed the positions: YYYY-MM-DDTHH:MM:SS.
  const field = (from: number, to: number): number => Number(text.slice(from, to))
  const [year, month, day, hour, minute, second] = [field(0, 4), field(5, 7), field(8, 10), field(11, 13), field(14, 16), field(17, 19)]
  const probe = new Date(0)
  probe.setUTCFullYear(year, month - 1, day) // Date.UTC would read years 0-99 as 1900-1999
  return probe.getUTCFullYear() === year && probe.getUTCMonth() === month - 1 && probe.getUTCDate() === day && hour < 24 && minute < 60 && second < 60
}

function readingId (source: ReadingSource, temperature: number, timeMs: number): string {
  return createHash('sha256').update(`${source.orgId}\n${source.typeId}\n${source.deviceId}\n${timeMs}\n${temperature}`).digest('hex').slice(0, 24)
}
