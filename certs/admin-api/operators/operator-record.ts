import type { Logger } from 'pino'
import { ORG_PATTERN } from '../../names.js'
import { isOperatorName, ROLES, type OperatorRecord } from './operator.js'
import { isOperatorId } from './operator-store.js'
import { isPasswordHash } from './password.js'

/**
 * Whether a value read from a store or a backup is a record an operator can
 * have, and what is wrong with it when not. A record is trusted once read
 * (access.ts asks `orgs.includes`, the list sorts on `createdAt`, a bearer
 * check decodes `tokenHash`), so one altered by hand or cut short must never
 * reach them: `orgs` as a string matched every organisation whose id is a
 * substring of it, a missing `createdAt` made GET /operators 500 for good.
 * The problem names a field, never its value (a hash stays out of messages).
 */
export function operatorRecordProblem (value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object'
  const record = value as Record<string, unknown>
  if (!isOperatorId(record.id)) return 'id is not 16 hex digits'
  if (typeof record.name !== 'string' || !isOperatorName(record.name)) return 'name is not an operator name'
  if (!(ROLES as readonly unknown[]).includes(record.role)) return `role is not one of ${ROLES.join(', ')}`
  if (!Array.isArray(record.orgs) || !record.orgs.every(org => typeof org === 'string' && ORG_PATTERN.test(org))) return 'orgs is not a list of organisation ids'
  if (typeof record.tokenHash !== 'string' || !TOKEN_HASH.test(record.tokenHash)) return 'tokenHash is not 64 hex digits'
  if (!isTimestamp(record.createdAt)) return 'createdAt is not an ISO 8601 time'
  for (const field of ['rotatedAt', 'revokedAt', 'passwordSetAt'] as const) {
    if (record[field] !== undefined && !isTimestamp(record[field])) return `${field} is not an ISO 8601 time`
  }
  if (record.passwordHash !== undefined && (typeof record.passwordHash !== 'string' || !isPasswordHash(record.passwordHash))) return 'passwordHash is not a scrypt hash within bounds'
  return undefined
}

/** What a store does with a record it cannot use: skips it, and says so through this. */
export type InvalidRecordReport = (id: string, problem: string) => void

/** A report that logs each record once per process (a store is read on every request). */
export function logInvalidRecords (log: Logger): InvalidRecordReport {
  const reported = new Set<string>()
  return (id, problem) => {
    if (reported.has(id)) return
    reported.add(id)
    log.warn({ event: 'operators.record-skipped', recordId: id.slice(0, 64), problem }, 'an operator record of the store is not one an operator can have: skipped (restore it from a backup, or remove it)')
  }
}

/** The record read under `id` (a file name, a hash field), or undefined, reported, when it is none or another id's. */
export function checkedRecord (id: string, json: string, report: InvalidRecordReport | undefined): OperatorRecord | undefined {
  let value: unknown
  try {
    value = JSON.parse(json)
  } catch {
    report?.(id, 'not JSON')
    return undefined
  }
  const problem = operatorRecordProblem(value) ?? ((value as OperatorRecord).id === id ? undefined : 'id is not the one it is kept under')
  if (problem === undefined) return value as OperatorRecord
  report?.(id, problem)
  return undefined
}

const TOKEN_HASH = /^[0-9a-f]{64}$/
/** As toISOString writes it (the seconds' fraction optional, an offset allowed), and a real time. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/

function isTimestamp (value: unknown): boolean {
  return typeof value === 'string' && TIMESTAMP.test(value) && !Number.isNaN(Date.parse(value))
}
