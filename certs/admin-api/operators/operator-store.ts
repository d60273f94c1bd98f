import { CertsError } from '../../errors.js'
import type { OperatorRecord } from './operator.js'

/**
 * Where operators are kept: global, not per organisation, so beside the
 * registry rather than in it, on the same backend (the data dir, or the Redis
 * of REDIS_URL). Nothing is cached: the admin API reads the record on every
 * request, so a revocation or rotation holds at once in every process that
 * shares the store (one file read or HGET per request).
 */
export interface OperatorStore {
  get (id: string): Promise<OperatorRecord | undefined>
  list (): Promise<OperatorRecord[]>
  put (record: OperatorRecord): Promise<void>
  /** Removes a record: only a create that lost its name's claim removes its own (operator-names.ts). */
  delete (id: string): Promise<void>
  /**
   * The name index (operator-names.ts): sets `name` to `id` unless another
   * holds it, atomically at the store; answers the holder (`id` when this
   * call, or an earlier one, set it).
   */
  claimName (name: string, id: string): Promise<string>
  nameHolder (name: string): Promise<string | undefined>
  /** Frees `name` if `id` holds it. */
  releaseName (name: string, id: string): Promise<void>
  close (): Promise<void>
}

export const ID_PATTERN = /^[0-9a-f]{16}$/

/** A record id as tokens carry it (16 hex digits): also what keeps a file name inside the directory. */
export function isOperatorId (value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value)
}

/** A store's failure as the API answers it: CERTS_ERR_STORE (503), its cause kept for the log. */
export function storeError (err: unknown): Error {
  if (err instanceof CertsError) return err
  return new CertsError('CERTS_ERR_STORE', 'the operator store failed', { cause: err })
}
