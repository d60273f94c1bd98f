import { CertsError, type CertsErrorCode } from '../errors.js'

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

/** `90s`, `15m`, `12h`, `30d` in milliseconds, within [min, max]; else `code`. */
export function parseDuration (text: string, bounds: { readonly minMs: number, readonly maxMs: number }, code: CertsErrorCode): number {
  const match = /^(\d{1,7})([smhd])$/.exec(text)
  const ms = match === null ? NaN : Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]
  if (!(ms >= bounds.minMs && ms <= bounds.maxMs)) {
    throw new CertsError(code, `"${text.slice(0, 20)}" is not a duration from ${describe(bounds.minMs)} to ${describe(bounds.maxMs)} (such as 15m, 12h or 30d)`)
  }
  return ms
}

function describe (ms: number): string {
  if (ms % UNIT_MS.d === 0) return `${ms / UNIT_MS.d} days`
  if (ms % UNIT_MS.h === 0) return `${ms / UNIT_MS.h} hours`
  return `${ms / UNIT_MS.m} minutes`
}

export const DAY_MS = UNIT_MS.d
export const MINUTE_MS = UNIT_MS.m
