import type { TLSSocket } from 'node:tls'
import type { FastifyRequest } from 'fastify'
import { AccessError, type IdentityResolver, type Principal, type Refusal, type Resolved } from '../../access/index.js'

/**
 * Who is calling, decided afresh at each request by the identity path
 * (access/resolve.ts), the per-CA OCSP check included: TLS verified the
 * certificate at the handshake, but a kept-alive or resumed connection
 * outlives revocations and CA changes. A TLS 1.2 session resumed from a
 * ticket keeps no SNI name: the Host header names the organisation then.
 * The temps app's onRequest hook awaits it for every non-public path, so the
 * routes read the settled answer (callerOf).
 */
export async function resolveCaller (resolver: IdentityResolver, request: FastifyRequest): Promise<Resolved<Principal>> {
  // Once per request: the protected-host check and the route both ask.
  let caller = callers.get(request.raw)
  if (caller === undefined) {
    caller = resolver.resolveChecked(request.raw.socket as TLSSocket, { host: request.hostname }, 'request').then(resolved => {
      settled.set(request.raw, resolved)
      return resolved
    })
    callers.set(request.raw, caller)
  }
  return await caller
}

const callers = new WeakMap<object, Promise<Resolved<Principal>>>()
const settled = new WeakMap<object, Resolved<Principal>>()

/** What resolveCaller settled for this request, if it ran (not for public paths). */
export function settledCallerOf (request: FastifyRequest): Resolved<Principal> | undefined {
  return settled.get(request.raw)
}

/** The caller's principal as resolveCaller settled it, or an AccessError with the identity path's code (HTTP 403 at the edge). */
export function callerOf (request: FastifyRequest): Principal {
  const caller = settled.get(request.raw)
  if (caller === undefined) throw new AccessError('BROKER_ERR_NO_IDENTITY', 'the caller was not resolved before the route', { stage: 'request' })
  if (!caller.ok) throw accessErrorOf(caller)
  return caller.value
}

/** The refusal as an error for the HTTP edge: its code, reason and the certificate's fields for the log. */
export function accessErrorOf (refusal: Refusal): AccessError {
  const { code, reason, stage, orgId, fingerprint, verifyError } = refusal
  return new AccessError(code, reason, { stage, orgId, fingerprint, verifyError })
}

/** The name the client asked for: SNI, else the Host header without its port. */
export function hostOf (request: FastifyRequest): string {
  const servername = (request.raw.socket as TLSSocket).servername
  return (typeof servername === 'string' && servername !== '' ? servername : request.hostname.replace(/:\d+$/, '')).toLowerCase()
}
