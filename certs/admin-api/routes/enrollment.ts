import type { FastifyInstance } from 'fastify'
import { deviceTrustPemOf } from '../../ca-key-move.js'
import { claimStateOf, createClaim, listClaims, revokeClaim } from '../../enrollment/claims.js'
import { createEnrollToken } from '../../enrollment/enroll-tokens.js'
import type { ClaimRecord } from '../../records.js'
import { ORG_ROUTE } from '../access.js'
import type { RouteContext, RoutePlugin } from '../admin-server.js'

/**
 * Enrollment's operator side: claims (`mqgate claim ...`) and one-time
 * tokens (`mqgate enroll-token create`). Org-scoped: an org-admin makes them
 * for its organisations, a viewer lists claims. The only responses that carry
 * a claim's private key or a token are the ones that create them.
 */
export function enrollmentRoutes ({ registry, actorOf }: RouteContext): RoutePlugin {
  return async (app: FastifyInstance) => {
    app.post<{ Params: { org: string }, Body: { name: string, types: string[], max_uses?: number, expires?: string } }>('/orgs/:org/claims', {
      ...ORG_ROUTE,
      schema: {
        body: {
          type: 'object',
          required: ['name', 'types'],
          additionalProperties: false,
          properties: { name: { type: 'string', maxLength: 64 }, types: { type: 'array', maxItems: 100, items: { type: 'string', maxLength: 64 } }, max_uses: { type: 'integer' }, expires: { type: 'string', maxLength: 20 } }
        }
      }
    }, async (request, reply) => {
      const { org } = request.params
      const { name, types, max_uses: maxUses, expires } = request.body
      const created = await createClaim(registry, org, { name, types, maxUses, expires }, actorOf(request))
      return await reply.status(201).send({
        ...claimView(created.claim),
        certificate: created.issued.record.certPem,
        private_key: created.issued.keyPem,
        ca_certificate: deviceTrustPemOf(registry.require(org))
      })
    })

    app.get<{ Params: { org: string } }>('/orgs/:org/claims', ORG_ROUTE, async request => {
      return { claims: (await listClaims(registry, request.params.org)).map(claim => claimView(claim)) }
    })

    app.delete<{ Params: { org: string, name: string } }>('/orgs/:org/claims/:name', ORG_ROUTE, async request => {
      return claimView(await revokeClaim(registry, request.params.org, request.params.name, actorOf(request)))
    })

    app.post<{ Params: { org: string }, Body: { cn: string, ttl?: string } }>('/orgs/:org/enroll-tokens', {
      ...ORG_ROUTE,
      schema: { body: { type: 'object', required: ['cn'], additionalProperties: false, properties: { cn: { type: 'string', maxLength: 200 }, ttl: { type: 'string', maxLength: 20 } } } }
    }, async (request, reply) => {
      const created = await createEnrollToken(registry, request.params.org, { commonName: request.body.cn, ttl: request.body.ttl }, actorOf(request))
      // no-store: the one response that carries the token must not sit in a cache.
      return await reply.status(201).header('cache-control', 'no-store').send({ token: created.token, common_name: created.record.commonName, expires_at: created.record.expiresAt })
    })
  }
}

function claimView (claim: ClaimRecord): Record<string, unknown> {
  return {
    name: claim.id,
    status: claimStateOf(claim),
    types: claim.types,
    uses: claim.uses,
    max_uses: claim.maxUses ?? null,
    expires_at: claim.expiresAt,
    created_at: claim.createdAt,
    revoked_at: claim.revokedAt ?? null,
    certificate_id: claim.certId,
    fingerprint_sha256: claim.fingerprint
  }
}
