import type { FastifyInstance } from 'fastify'
import { buildOrgCrl, isValidOrgId, type OrgRegistry, type OrgState } from '../../certs/index.js'
import { BridgeError } from '../errors.js'

/** A CRL is valid for a day; it is remade at most hourly, and at once when the organisation changes. */
const REBUILD_MS = 60 * 60 * 1000

/**
 * `GET /crl/<org>.crl`: the managed CA's CRL (DER), where the certificates it
 * signs say to find it. Public, like any CRL: no client certificate needed.
 */
export function crlRoute (registry: OrgRegistry) {
  const cache = new WeakMap<OrgState, { der: Buffer, at: number }>()
  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Params: { file: string } }>('/crl/:file', async (request, reply) => {
      const orgId = request.params.file.replace(/\.crl$/, '')
      const state = isValidOrgId(orgId) && request.params.file.endsWith('.crl') ? registry.get(orgId) : undefined
      if (state === undefined) throw new BridgeError('BRIDGE_ERR_API_NOT_FOUND', 'no such CRL')
      let entry = cache.get(state)
      if (entry === undefined || Date.now() - entry.at > REBUILD_MS) {
        entry = { der: await buildOrgCrl(state, registry.signerOf(orgId)), at: Date.now() }
        cache.set(state, entry)
      }
      return await reply.header('content-type', 'application/pkix-crl').header('cache-control', 'max-age=300').send(entry.der)
    })
  }
}

/** Routes anyone may call, whatever MQGATE_PROTECTED_HOSTS says. */
export function isPublicPath (url: string): boolean {
  return url.startsWith('/crl/')
}
