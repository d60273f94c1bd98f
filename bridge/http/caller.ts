import type { TLSSocket } from 'node:tls'
import type { FastifyRequest } from 'fastify'
import { AccessError, type IdentityResolver, type Principal, type Refusal, type Resolved } from '../../access/index.js'

/**
 * Who is calling, decided afresh at each request by the identity path
 * (access/resolve.ts): TLS verified the certificate at the handshake, but a
 * kept-alive or resumed connection outlives revocations and CA changes. A
 * TLS 1.2 session resumed from a ticket keeps no SNI name: the Host header
 * names the organisation then.
 */
export function resolveCaller (resolver: IdentityResolver, request: FastifyRequest): Resolved<Principal> {
  // Once per request: the protected-host check and the route both ask.
  let caller = callers.get(request.raw)
  if (caller === undefined) {
    caller = resolver.resolve(request.raw.socket as TLSSocket, { host: request.hostname }, 'request')
    callers.set(request.raw, caller)
  }
  return caller
}

const callers = new WeakMap<object, Resolved<Principal>>()

/** The caller's principal, or an AccessError with the identity path's code (HTTP 403 at the edge). */
export function callerOf (resolver: IdentityResolver, request: FastifyRequest): Principal {
  const caller = resolveCaller(resolver, request)
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
