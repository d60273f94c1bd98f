import type { FastifyInstance, FastifyReply } from 'fastify'
import { isValidOrgId, type OcspResponder, type OrgRegistry } from '../../certs/index.js'
import { BridgeError } from '../errors.js'

/**
 * The organisations' OCSP responders (RFC 6960 appendix A.1), one per managed
 * CA: `POST /ocsp/<org>` with an `application/ocsp-request` body, and
 * `GET /ocsp/<org>/<url-encoded base64 request>`. An organisation that does
 * not exist is a 404, as its CRL is: the URL names no responder. Everything
 * else is an OCSPResponse (`application/ocsp-response`), a malformed request
 * one with status malformedRequest. Responses are not for HTTP caches
 * (`no-cache`): the responder keeps its own, and a revocation must show in the
 * next response.
 */
export function ocspRoute (registry: OrgRegistry, responder: OcspResponder) {
  const answer = async (orgId: string, request: Buffer, reply: FastifyReply): Promise<FastifyReply> => {
    if (!isValidOrgId(orgId) || registry.get(orgId) === undefined) throw new BridgeError('BRIDGE_ERR_API_NOT_FOUND', 'no such OCSP responder')
    const der = await responder.respond(orgId, request)
    return await reply.header('content-type', 'application/ocsp-response').header('cache-control', 'no-cache').send(der)
  }
  return async (app: FastifyInstance): Promise<void> => {
    app.post<{ Params: { org: string }, Body: Buffer }>('/ocsp/:org', async (request, reply) => {
      return await answer(request.params.org, Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0), reply)
    })
    app.get<{ Params: { org: string, '*': string } }>('/ocsp/:org/*', async (request, reply) => {
      return await answer(request.params.org, requestFromPath(request.params['*']), reply)
    })
  }
}

/**
 * The GET form's request: base64 (RFC 4648 4) of the DER, URL-encoded. The
 * router has decoded the %-escapes; a path that is not base64 becomes no
 * request at all, which the responder calls malformed.
 */
function requestFromPath (path: string): Buffer {
  const base64 = path.replace(/\s/g, '+')
  return /^[A-Za-z0-9+/]+={0,2}$/.test(base64) ? Buffer.from(base64, 'base64') : Buffer.alloc(0)
}
