/**
 * Reads typed values out of an environment map and collects every problem, so
 * that a bad configuration is reported once, completely (fastify's
 * initial-config-validation idea), instead of one variable per restart.
 */
export class EnvReader {
  readonly problems: string[] = []

  constructor (private readonly env: Readonly<Record<string, string | undefined>>) {}

  string (name: string, fallback: string): string {
    const raw = this.env[name]
    return raw === undefined || raw === '' ? fallback : raw
  }

  optionalString (name: string): string | undefined {
    const raw = this.env[name]
    return raw === undefined || raw === '' ? undefined : raw
  }

  integer (name: string, fallback: number, min: number, max: number): number {
    const raw = this.env[name]
    if (raw === undefined || raw === '') return fallback
    const value = Number(raw)
    if (!Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${name} must be an integer between ${min} and ${max}, got "${raw}"`)
      return fallback
    }
    return value
  }

  /** `500ms`, `30s`, `10m`, `1h`, `1d` (a bare number is milliseconds), in ms, within [min, max]. */
  duration (name: string, fallback: number, min: number, max: number): number {
    const raw = this.env[name]
    if (raw === undefined || raw === '') return fallback
    const match = /^(\d{1,10})(ms|s|m|h|d)?$/.exec(raw.trim())
    const value = match === null ? NaN : Number(match[1]) * DURATION_UNITS[match[2] ?? 'ms']
    if (!(value >= min && value <= max)) {
      this.problems.push(`${name} must be a duration such as 30s, 10m, 1h or 1d, from ${min} ms to ${max / 86_400_000} days, got "${raw}"`)
      return fallback
    }
    return value
  }

  oneOf<T extends string> (name: string, fallback: T, allowed: readonly T[]): T {
    return this.optionalOneOf(name, allowed) ?? fallback
  }

  /** As `oneOf`, but unset (or empty) stays undefined, for a caller that decides the default itself. */
  optionalOneOf<T extends string> (name: string, allowed: readonly T[]): T | undefined {
    const raw = this.env[name]
    if (raw === undefined || raw === '') return undefined
    if (!(allowed as readonly string[]).includes(raw)) {
      this.problems.push(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`)
      return undefined
    }
    return raw as T
  }

  /** Records a problem found by a caller's own cross-field check. */
  require (condition: boolean, problem: string): void {
    if (!condition) this.problems.push(problem)
  }
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
