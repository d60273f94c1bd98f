import assert from 'node:assert/strict'
import { BridgeError, type BridgeErrorCode } from '../../bridge/errors.js'
import { MAX_READING_BYTES, parseReading, type ReadingSource } from '../../bridge/reading.js'

const source: ReadingSource = { orgId: 'acme', typeId: 'sensor', deviceId: 'd1' }
const HEX_ID = /^[0-9a-f]{24}$/

/** The error code parseReading throws for `payload`, or 'ok'. */
function codeOf (payload: Buffer | string, from: ReadingSource = source): BridgeErrorCode | 'ok' {
  try {
    parseReading(from, payload)
    return 'ok'
  } catch (err) {
    assert.ok(err instanceof BridgeError, `not a BridgeError: ${String(err)}`)
    return err.code
  }
}

const json = (body: unknown): string => JSON.stringify(body)
const TIME = '2020-09-28T02:54:56Z'
const TIME_MS = Date.UTC(2020, 8, 28, 2, 54, 56)

/** A JSON reading of exactly `bytes` bytes, padded with an ignored field. */
function readingOfSize (bytes: number): string {
  const bare = json({ temperature: 36.6, time: TIME, pad: '' })
  return json({ temperature: 36.6, time: TIME, pad: 'x'.repeat(bytes - bare.length) })
}

describe('bridge: parseReading accepts a valid reading', () => {
  interface Valid { name: string, payload: Buffer | string, temperature: number, time: string, timeMs: number }
  const cases: Valid[] = [
    { name: 'a number temperature and a UTC instant', payload: json({ temperature: 36.6, time: TIME }), temperature: 36.6, time: TIME, timeMs: TIME_MS },
    { name: 'a temperature of 0', payload: json({ temperature: 0, time: TIME }), temperature: 0, time: TIME, timeMs: TIME_MS },
    { name: 'a negative temperature', payload: json({ temperature: -5, time: TIME }), temperature: -5, time: TIME, timeMs: TIME_MS },
    { name: 'a numeric string temperature', payload: json({ temperature: '36.5', time: TIME }), temperature: 36.5, time: TIME, timeMs: TIME_MS },
    { name: 'the string "0" as temperature', payload: json({ temperature: '0', time: TIME }), temperature: 0, time: TIME, timeMs: TIME_MS },
    { name: 'a temperature string in exponent notation', payload: json({ temperature: '1e2', time: TIME }), temperature: 100, time: TIME, timeMs: TIME_MS },
    { name: 'an instant with fractional seconds', payload: json({ temperature: 1, time: '2020-09-28T02:54:56.250Z' }), temperature: 1, time: '2020-09-28T02:54:56.250Z', timeMs: TIME_MS + 250 },
    { name: 'an instant with an offset, kept as sent', payload: json({ temperature: 1, time: '2020-09-28T04:54:56+02:00' }), temperature: 1, time: '2020-09-28T04:54:56+02:00', timeMs: TIME_MS },
    { name: 'an instant with a negative offset', payload: json({ temperature: 1, time: '2020-09-27T21:54:56-05:00' }), temperature: 1, time: '2020-09-27T21:54:56-05:00', timeMs: TIME_MS },
    { name: 'the 29th of February of a leap year', payload: json({ temperature: 1, time: '2020-02-29T00:00:00Z' }), temperature: 1, time: '2020-02-29T00:00:00Z', timeMs: Date.UTC(2020, 1, 29) },
    { name: 'a payload with extra fields, which are ignored', payload: json({ temperature: 2, time: TIME, humidity: 40, id: 'from-device' }), temperature: 2, time: TIME, timeMs: TIME_MS },
    { name: 'a payload given as a Buffer', payload: Buffer.from(json({ temperature: 3, time: TIME })), temperature: 3, time: TIME, timeMs: TIME_MS },
    { name: 'a payload of exactly 16 KiB', payload: readingOfSize(MAX_READING_BYTES), temperature: 36.6, time: TIME, timeMs: TIME_MS }
  ]
  for (const c of cases) {
    it(c.name, () => {
      const reading = parseReading(source, c.payload)
      assert.deepEqual({ ...reading, id: 'checked below' }, {
        id: 'checked below', orgId: 'acme', typeId: 'sensor', deviceId: 'd1', temperature: c.temperature, time: c.time, timeMs: c.timeMs
      })
      assert.match(reading.id, HEX_ID)
    })
  }
})

describe('bridge: parseReading refuses an invalid reading', () => {
  interface Invalid { name: string, payload: Buffer | string, code: BridgeErrorCode }
  const cases: Invalid[] = [
    { name: 'a payload one byte over 16 KiB is too large', payload: readingOfSize(MAX_READING_BYTES + 1), code: 'BRIDGE_ERR_PAYLOAD_TOO_LARGE' },
    { name: 'a Buffer over 16 KiB is too large', payload: Buffer.from(readingOfSize(MAX_READING_BYTES + 100)), code: 'BRIDGE_ERR_PAYLOAD_TOO_LARGE' },
    { name: 'a string under 16 KiB characters but over 16 KiB in UTF-8 is too large', payload: json({ temperature: 1, time: TIME, pad: '\u00e9'.repeat(9000) }), code: 'BRIDGE_ERR_PAYLOAD_TOO_LARGE' },
    { name: 'an empty payload is not JSON', payload: '', code: 'BRIDGE_ERR_PAYLOAD_NOT_JSON' },
    { name: 'plain text is not JSON', payload: 'temperature=36.6', code: 'BRIDGE_ERR_PAYLOAD_NOT_JSON' },
    { name: 'truncated JSON is not JSON', payload: '{"temperature": 36.6, "time": ', code: 'BRIDGE_ERR_PAYLOAD_NOT_JSON' },
    { name: 'a bare NaN is not JSON', payload: `{"temperature": NaN, "time": "${TIME}"}`, code: 'BRIDGE_ERR_PAYLOAD_NOT_JSON' },
    { name: 'invalid UTF-8 bytes are not JSON', payload: Buffer.concat([Buffer.from('{"temperature": 1, "time": "'), Buffer.from([0xff, 0xfe]), Buffer.from(`${TIME}"}`)]), code: 'BRIDGE_ERR_PAYLOAD_NOT_JSON' },
    { name: 'a truncated UTF-8 sequence is not JSON', payload: Buffer.concat([Buffer.from(`{"temperature": 1, "time": "${TIME}", "x": "`), Buffer.from([0xc3]), Buffer.from('"}')]), code: 'BRIDGE_ERR_PAYLOAD_NOT_JSON' },
    { name: 'a JSON array is not an object', payload: json([{ temperature: 1, time: TIME }]), code: 'BRIDGE_ERR_PAYLOAD_NOT_OBJECT' },
    { name: 'JSON null is not an object', payload: 'null', code: 'BRIDGE_ERR_PAYLOAD_NOT_OBJECT' },
    { name: 'a JSON number is not an object', payload: '36.6', code: 'BRIDGE_ERR_PAYLOAD_NOT_OBJECT' },
    { name: 'a JSON string is not an object', payload: '"36.6"', code: 'BRIDGE_ERR_PAYLOAD_NOT_OBJECT' },
    { name: 'JSON true is not an object', payload: 'true', code: 'BRIDGE_ERR_PAYLOAD_NOT_OBJECT' },
    { name: 'a missing temperature is invalid', payload: json({ time: TIME }), code: 'BRIDGE_ERR_TEMPERATURE_INVALID' },
    { name: 'a null temperature is invalid', payload: json({ temperature: null, time: TIME }), code: 'BRIDGE_ERR_TEMPERATURE_INVALID' },
    { name: 'the string "NaN" as temperature is invalid', payload: json({ temperature: 'NaN', time: TIME }), code: 'BRIDGE_ERR_TEMPERATURE_INVALID' },
    { name: 'the string "Infinity" as temperature is invalid', payload: json({ temperature: 'Infinity', time: TIME }), code: 'BRIDGE_ERR_TEMPERATURE_INVALID' },
    { name: 'the string "-Infinity" as temperature is invalid', payload: json({ temperature: '-Infinity', time: TIME }), code: 'BRIDGE_ERR_TEMPERATURE_INVALID' },
    { name: 'a numeric string that overflows to infinity is invalid', payload: json({ temperature: '1e999', time: TIME }), code: 'BRIDGE_ERR_TEMPERATURE_INVALID' },
    { name: 'a JSON number that overflows to infinity is invalid', payload: `{"temperature": 1e999, "time": "${TIME}"}`, code: 'BRIDGE_ERR_TEMPERATURE_INVALID' },
    { name: 'a boolean temperature is invalid', payload: json({ temperature: true, time: TIME }), code: 'BRIDGE_ERR_TEMPERATURE_INVALID' },
    { name: 'an object temperature is invalid', payload: json({ temperature: { value: 36.6 }, time: TIME }), code: 'BRIDGE_ERR_TEMPERATURE_INVALID' },
    { name: 'an array temperature is invalid', payload: json({ temperature: [36.6], time: TIME }), code: 'BRIDGE_ERR_TEMPERATURE_INVALID' },
    { name: 'an empty string temperature is invalid', payload: json({ temperature: '', time: TIME }), code: 'BRIDGE_ERR_TEMPERATURE_INVALID' },
    { name: 'a blank string temperature is invalid', payload: json({ temperature: ' ', time: TIME }), code: 'BRIDGE_ERR_TEMPERATURE_INVALID' },
    { name: 'a word as temperature is invalid', payload: json({ temperature: 'abc', time: TIME }), code: 'BRIDGE_ERR_TEMPERATURE_INVALID' },
    { name: 'a number followed by letters is invalid', payload: json({ temperature: '36.6abc', time: TIME }), code: 'BRIDGE_ERR_TEMPERATURE_INVALID' },
    { name: 'a hexadecimal string temperature is invalid', payload: json({ temperature: '0x10', time: TIME }), code: 'BRIDGE_ERR_TEMPERATURE_INVALID' },
    { name: 'a missing time is invalid', payload: json({ temperature: 1 }), code: 'BRIDGE_ERR_TIME_INVALID' },
    { name: 'a null time is invalid', payload: json({ temperature: 1, time: null }), code: 'BRIDGE_ERR_TIME_INVALID' },
    { name: 'an epoch seconds number is not an instant', payload: json({ temperature: 1, time: 1601261696 }), code: 'BRIDGE_ERR_TIME_INVALID' },
    { name: 'an epoch milliseconds number is not an instant', payload: json({ temperature: 1, time: TIME_MS }), code: 'BRIDGE_ERR_TIME_INVALID' },
    { name: 'epoch milliseconds as a string are not an instant', payload: json({ temperature: 1, time: String(TIME_MS) }), code: 'BRIDGE_ERR_TIME_INVALID' },
    { name: 'a date without a time is not an instant', payload: json({ temperature: 1, time: '2020-09-28' }), code: 'BRIDGE_ERR_TIME_INVALID' },
    { name: 'a time without an offset is not an instant', payload: json({ temperature: 1, time: '2020-09-28T02:54:56' }), code: 'BRIDGE_ERR_TIME_INVALID' },
    { name: 'a time without seconds is not an instant', payload: json({ temperature: 1, time: '2020-09-28T02:54Z' }), code: 'BRIDGE_ERR_TIME_INVALID' },
    { name: 'a space instead of T is not an instant', payload: json({ temperature: 1, time: '2020-09-28 02:54:56Z' }), code: 'BRIDGE_ERR_TIME_INVALID' },
    { name: 'an RFC 2822 date is not an instant', payload: json({ temperature: 1, time: 'Mon, 28 Sep 2020 02:54:56 GMT' }), code: 'BRIDGE_ERR_TIME_INVALID' },
    { name: 'a word is not an instant', payload: json({ temperature: 1, time: 'yesterday' }), code: 'BRIDGE_ERR_TIME_INVALID' },
    { name: 'the 31st of February is not a day', payload: json({ temperature: 1, time: '2020-02-31T00:00:00Z' }), code: 'BRIDGE_ERR_TIME_INVALID' },
    { name: 'the 29th of February of a common year is not a day', payload: json({ temperature: 1, time: '2021-02-29T00:00:00Z' }), code: 'BRIDGE_ERR_TIME_INVALID' },
    { name: 'month 13 is not a month', payload: json({ temperature: 1, time: '2020-13-01T00:00:00Z' }), code: 'BRIDGE_ERR_TIME_INVALID' },
    { name: 'hour 25 is not an hour', payload: json({ temperature: 1, time: '2020-09-28T25:00:00Z' }), code: 'BRIDGE_ERR_TIME_INVALID' },
    { name: 'hour 24 is not an hour', payload: json({ temperature: 1, time: '2020-09-28T24:00:00Z' }), code: 'BRIDGE_ERR_TIME_INVALID' },
    { name: 'minute 60 is not a minute', payload: json({ temperature: 1, time: '2020-09-28T02:60:00Z' }), code: 'BRIDGE_ERR_TIME_INVALID' },
    { name: 'second 60 is not a second', payload: json({ temperature: 1, time: '2020-09-28T02:54:60Z' }), code: 'BRIDGE_ERR_TIME_INVALID' },
    { name: 'an offset of 24 hours is not an offset', payload: json({ temperature: 1, time: '2020-09-28T02:54:56+24:00' }), code: 'BRIDGE_ERR_TIME_INVALID' },
  ]
  for (const c of cases) it(c.name, () => assert.equal(codeOf(c.payload), c.code))
})

describe('bridge: a reading\'s id', () => {
  const idOf = (body: unknown, from: ReadingSource = source): string => parseReading(from, typeof body === 'string' ? body : json(body)).id

  interface Pair { name: string, a: () => string, b: () => string }
  const same: Pair[] = [
    { name: 'the same reading twice', a: () => idOf({ temperature: 36.6, time: TIME }), b: () => idOf({ temperature: 36.6, time: TIME }) },
    { name: 'the same instant with and without fractional zeros', a: () => idOf({ temperature: 36.6, time: '2020-09-28T02:54:56Z' }), b: () => idOf({ temperature: 36.6, time: '2020-09-28T02:54:56.000Z' }) },
    { name: 'the same instant in another offset', a: () => idOf({ temperature: 36.6, time: '2020-09-28T02:54:56Z' }), b: () => idOf({ temperature: 36.6, time: '2020-09-28T04:54:56+02:00' }) },
    { name: 'the same temperature as a number and as a string', a: () => idOf({ temperature: 36.5, time: TIME }), b: () => idOf({ temperature: '36.5', time: TIME }) },
    { name: 'the same reading with different extra fields', a: () => idOf({ temperature: 1, time: TIME, seq: 1 }), b: () => idOf({ temperature: 1, time: TIME, seq: 2 }) },
    { name: 'the same reading from a Buffer and from a string', a: () => parseReading(source, Buffer.from(json({ temperature: 1, time: TIME }))).id, b: () => idOf({ temperature: 1, time: TIME }) }
  ]
  for (const c of same) it(`is the same for ${c.name}`, () => assert.equal(c.a(), c.b()))

  const different: Pair[] = [
    { name: 'another device', a: () => idOf({ temperature: 36.6, time: TIME }), b: () => idOf({ temperature: 36.6, time: TIME }, { ...source, deviceId: 'd2' }) },
    { name: 'another device type', a: () => idOf({ temperature: 36.6, time: TIME }), b: () => idOf({ temperature: 36.6, time: TIME }, { ...source, typeId: 'probe' }) },
    { name: 'another organisation', a: () => idOf({ temperature: 36.6, time: TIME }), b: () => idOf({ temperature: 36.6, time: TIME }, { ...source, orgId: 'globex' }) },
    { name: 'another temperature', a: () => idOf({ temperature: 36.6, time: TIME }), b: () => idOf({ temperature: 36.7, time: TIME }) },
    { name: 'a temperature of 0 and of 1', a: () => idOf({ temperature: 0, time: TIME }), b: () => idOf({ temperature: 1, time: TIME }) },
    { name: 'another millisecond', a: () => idOf({ temperature: 36.6, time: '2020-09-28T02:54:56.000Z' }), b: () => idOf({ temperature: 36.6, time: '2020-09-28T02:54:56.001Z' }) },
    { name: 'the same wall-clock time in another offset', a: () => idOf({ temperature: 36.6, time: '2020-09-28T02:54:56Z' }), b: () => idOf({ temperature: 36.6, time: '2020-09-28T02:54:56+02:00' }) }
  ]
  for (const c of different) it(`differs for ${c.name}`, () => assert.notEqual(c.a(), c.b()))

  it('is 24 lowercase hex digits', () => assert.match(idOf({ temperature: 0, time: TIME }), HEX_ID))

  it('comes from the content, not from an id field of the source object', () => {
    const logEntry = { ...source, id: 'log-entry-1', deliveries: 3, payload: Buffer.from('ignored'), receivedAt: 1 }
    const reading = parseReading(logEntry, json({ temperature: 36.6, time: TIME }))
    assert.match(reading.id, HEX_ID)
    assert.equal(reading.id, idOf({ temperature: 36.6, time: TIME }))
    assert.deepEqual(Object.keys(reading).sort(), ['deviceId', 'id', 'orgId', 'temperature', 'time', 'timeMs', 'typeId'])
  })
})
