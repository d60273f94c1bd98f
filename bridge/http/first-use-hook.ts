import type { FastifyRequest } from 'fastify'
import type { FirstUseRecorder } from '../../certs/index.js'
import { settledCallerOf } from './caller.js'

/**
 * The temps API's part in retiring renewed certificates: once a request whose
 * caller the identity path accepted has been answered, whatever the route
 * said, the certificate has been used over HTTPS (its first use starts the
 * grace of the certificate it replaced: certs/enrollment/retirement.ts).
 */
export function firstUseHook (firstUse: FirstUseRecorder) {
  return async (request: FastifyRequest): Promise<void> => {
    const caller = settledCallerOf(request)
    if (caller?.ok === true) firstUse.note(caller.value.orgId, caller.value.fingerprint)
  }
}
