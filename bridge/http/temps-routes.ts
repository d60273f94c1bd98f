import type { FastifyInstance, FastifyRequest } from 'fastify'
import { isValidName } from '../../certs/index.js'
import { deviceClientIdOf, type Principal } from '../../access/index.js'
import { BridgeError } from '../errors.js'
import { parseReading } from '../reading.js'
import { storedFrom, type ReadingStore } from '../reading-store.js'

export interface RouteDeps {
  readonly store: ReadingStore
  /** The caller's principal; throws the identity path's refusal (403). */
  readonly callerOf: (request: FastifyRequest) => Principal
}

const SEED_LIMIT = 5
const MAX_LIMIT = 1000

/**
 * The seed's routes, for devices posting their own readings over HTTPS
 * (`POST /temps`, `GET /temps`: the caller's 5 newest), and the routes for
 * applications of the organisation: the bridge posts for a device, mobile
 * backends read a device's readings.
 */
export function tempsRoutes (deps: RouteDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    app.post('/temps', async (request, reply) => {
      const { orgId, thing } = requireThing(deps.callerOf(request))
      const reading = parseReading({ orgId, typeId: thing.typeId, deviceId: thing.id }, bodyOf(request))
      await deps.store.add([reading])
      return await reply.status(201).send(storedFrom(reading))
    })

    app.get('/temps', async request => {
      const { orgId, thing } = requireThing(deps.callerOf(request))
      return await deps.store.latest({ orgId, typeId: thing.typeId, deviceId: thing.id }, SEED_LIMIT) ?? []
    })

    app.post<{ Params: { type: string, id: string } }>('/devices/:type/:id/temps', async (request, reply) => {
      const orgId = requireApplication(deps.callerOf(request))
      const device = deviceOf(request.params)
      const reading = parseReading({ orgId, typeId: device.type, deviceId: device.id }, bodyOf(request))
      const named = deviceField(bodyOf(request))
      if (named !== undefined && named !== deviceClientIdOf(orgId, device.type, device.id) && named !== `d:${device.type}:${device.id}`) {
        throw new BridgeError('BRIDGE_ERR_API_BAD_REQUEST', 'the body\'s device field names another device than the path')
      }
      await deps.store.add([reading])
      return await reply.status(201).send(storedFrom(reading))
    })

    app.get<{ Params: { type: string, id: string }, Querystring: { limit?: string } }>('/devices/:type/:id/temps', async request => {
      const orgId = requireApplication(deps.callerOf(request))
      const device = deviceOf(request.params)
      const readings = await deps.store.latest({ orgId, typeId: device.type, deviceId: device.id }, limitOf(request.query.limit))
      if (readings === undefined) throw new BridgeError('BRIDGE_ERR_API_NOT_FOUND', `no readings of device ${device.type}/${device.id} in this organisation`)
      return readings
    })
  }
}

function requireThing (caller: Principal): { orgId: string, thing: { typeId: string, id: string } } {
  const identity = caller.identity
  if (identity.kind === 'application') throw new BridgeError('BRIDGE_ERR_API_FORBIDDEN', '/temps is for devices and gateways; applications use /devices/<type>/<id>/temps')
  return { orgId: caller.orgId, thing: { typeId: identity.typeId, id: identity.id } }
}

function requireApplication (caller: Principal): string {
  if (caller.identity.kind !== 'application') throw new BridgeError('BRIDGE_ERR_API_FORBIDDEN', 'this route is for application certificates (a:<app>)')
  return caller.orgId
}

function deviceOf (params: { type: string, id: string }): { type: string, id: string } {
  if (!isValidName(params.type) || !isValidName(params.id)) throw new BridgeError('BRIDGE_ERR_API_NOT_FOUND', 'no such device')
  return params
}

function limitOf (raw: string | undefined): number {
  if (raw === undefined) return SEED_LIMIT
  const limit = Number(raw)
  if (!/^\d+$/.test(raw) || limit < 1 || limit > MAX_LIMIT) throw new BridgeError('BRIDGE_ERR_API_BAD_REQUEST', `limit must be a whole number from 1 to ${MAX_LIMIT}`)
  return limit
}

function bodyOf (request: FastifyRequest): Buffer {
  return Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
}

/** The optional `device` field the bridge adds to the seed's body. */
function deviceField (body: Buffer): string | undefined {
  try {
    const value = (JSON.parse(body.toString('utf8')) as { device?: unknown }).device
    return typeof value === 'string' ? value : undefined
  } catch {
    return undefined
  }
}
