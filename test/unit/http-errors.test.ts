import assert from 'node:assert/strict'
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify'
import { CertsError } from '../../certs/index.js'
import { failed } from '../../certs/admin-api/cloudflare-views.js'
import { ADMIN_STATUS, type AdminErrorCode } from '../../certs/admin-api/errors.js'
import { createErrorHandler as adminErrorHandler, failureOf } from '../../certs/admin-api/http-errors.js'
import { BridgeError } from '../../bridge/errors.js'
import { createErrorHandler as bridgeErrorHandler } from '../../bridge/http/http-errors.js'
import { createLogSink, type LogSink } from '../support/log-sink.js'

/**
 * Every answer and log line of the two APIs' error handlers (the admin API's,
 * with its Cloudflare envelope, and the temps API's), over fastify's own
 * request path (inject: no socket). Operators' log queries and the CLI read
 * these codes, so the shared handler must keep them byte for byte.
 */

const CAUSE = 'secret-cause-do-not-return'
const BODY_LIMIT = 64
const BAD_JSON = 'Body is not valid JSON but content-type is set to \'application/json\''

interface Case {
  readonly name: string
  readonly method?: 'GET' | 'POST'
  readonly url: string
  readonly payload?: string
  readonly contentType?: string
  readonly status: number
  readonly body: unknown
  /** The one log line the handler writes (picked fields), or none. */
  readonly log?: Record<string, unknown>
}

/** Routes that fail in each way a handler must map: the caller's own error, fastify's, and the unexpected. */
function failingRoutes (app: FastifyInstance, ownError: (kind: 'listed' | 'unlisted') => Error): void {
  app.get('/own/listed', async () => { throw ownError('listed') })
  app.get('/own/unlisted', async () => { throw ownError('unlisted') })
  app.get('/boom', async () => { throw new Error(CAUSE) })
  app.get('/status-400', async () => { throw Object.assign(new Error('page must be a positive whole number'), { statusCode: 400 }) })
  app.get('/status-503', async () => { throw Object.assign(new Error(CAUSE), { statusCode: 503 }) })
  app.post('/schema', { schema: { body: { type: 'object', required: ['id'], additionalProperties: false, properties: { id: { type: 'string' } } } } }, async () => ({ ok: true }))
  app.post('/echo', async () => ({ ok: true }))
}

async function run (app: FastifyInstance, sink: LogSink, c: Case): Promise<void> {
  const before = sink.lines.length
  const answer = await app.inject({
    method: c.method ?? 'GET',
    url: c.url,
    payload: c.payload,
    headers: c.contentType === undefined ? {} : { 'content-type': c.contentType }
  })
  assert.equal(answer.statusCode, c.status, answer.body)
  assert.deepEqual(answer.json(), c.body)
  assert.doesNotMatch(answer.body, new RegExp(CAUSE), 'the cause is never returned')
  const written = sink.lines.slice(before)
  if (c.log === undefined) {
    assert.deepEqual(written, [], 'no log line')
    return
  }
  assert.equal(written.length, 1, JSON.stringify(written))
  const line = written[0]
  const picked = Object.fromEntries(Object.keys(c.log).map(key => [key, key === 'err' ? line.err?.message : line[key]]))
  assert.deepEqual(picked, c.log)
  assert.deepEqual(Object.keys(line).filter(k => !['level', 'time', 'pid', 'hostname', 'name', 'component', 'msg'].includes(k)).sort(),
    Object.keys(c.log).filter(k => !['level', 'msg'].includes(k)).sort(), 'no other field')
}

describe('HTTP error handlers: the admin API', () => {
  const sink = createLogSink()
  const app = Fastify({ bodyLimit: BODY_LIMIT, logger: false, ajv: { customOptions: { removeAdditional: false, coerceTypes: false } } })

  before(async () => {
    const log = sink.logger.child({ component: 'admin-api' })
    app.setErrorHandler(adminErrorHandler(log))
    failingRoutes(app, kind => kind === 'listed'
      ? new CertsError('CERTS_ERR_ORG_NOT_FOUND', 'no organisation nope')
      : new CertsError('CERTS_ERR_DAYS_INVALID', 'days must be 1-3650'))
    await app.register(async cloudflare => {
      cloudflare.setErrorHandler((err: FastifyError | CertsError, request, reply) => {
        const failure = failureOf(err, request, log)
        void reply.status(failure.status).send(failed(failure))
      })
      failingRoutes(cloudflare, () => new CertsError('CERTS_ERR_CERT_NOT_FOUND', 'no certificate x'))
    }, { prefix: '/client/v4' })
    await app.ready()
  })
  after(async () => await app.close())

  const error = (code: string, message: string): unknown => ({ error: { code, message } })
  const envelope = (code: string, message: string): unknown => ({ success: false, errors: [{ code, message }], messages: [], result: null })
  const refusedLog = (code: string, url: string, status: number, msg: string): Record<string, unknown> =>
    ({ level: 40, event: 'admin.refused', code, method: 'GET', url, status, msg })
  const failedLog = (url: string): Record<string, unknown> =>
    ({ level: 50, event: 'admin.error', err: CAUSE, method: 'GET', url, msg: 'admin request failed' })
  const cases: Case[] = [
    { name: 'a PKI refusal with a status in the table', url: '/own/listed?x=1', status: 404, body: error('CERTS_ERR_ORG_NOT_FOUND', 'no organisation nope'), log: refusedLog('CERTS_ERR_ORG_NOT_FOUND', '/own/listed', 404, 'no organisation nope') },
    { name: 'a PKI refusal missing from the table is the caller\'s mistake: 400', url: '/own/unlisted', status: 400, body: error('CERTS_ERR_DAYS_INVALID', 'days must be 1-3650'), log: refusedLog('CERTS_ERR_DAYS_INVALID', '/own/unlisted', 400, 'days must be 1-3650') },
    { name: 'the unexpected is a 500 whose cause is logged, not returned', url: '/boom?q=2', status: 500, body: error('ADMIN_ERR_INTERNAL', 'the request failed; the gateway log has the cause'), log: failedLog('/boom') },
    { name: 'a 5xx status on an error is the unexpected too', url: '/status-503', status: 500, body: error('ADMIN_ERR_INTERNAL', 'the request failed; the gateway log has the cause'), log: failedLog('/status-503') },
    { name: 'a 4xx status on an error is a bad request with its message', url: '/status-400', status: 400, body: error('ADMIN_ERR_BAD_REQUEST', 'page must be a positive whole number') },
    { name: 'fastify\'s schema refusal is a bad request', method: 'POST', url: '/schema', payload: '{"id":"a","extra":1}', contentType: 'application/json', status: 400, body: error('ADMIN_ERR_BAD_REQUEST', 'body must NOT have additional properties') },
    { name: 'bad JSON is a bad request', method: 'POST', url: '/echo', payload: '{"id":', contentType: 'application/json', status: 400, body: error('ADMIN_ERR_BAD_REQUEST', BAD_JSON) },
    { name: 'a body over the limit is too large', method: 'POST', url: '/echo', payload: JSON.stringify({ pad: 'x'.repeat(BODY_LIMIT) }), contentType: 'application/json', status: 413, body: error('ADMIN_ERR_TOO_LARGE', 'Request body is too large') },
    { name: 'a content type with no parser is refused as such', method: 'POST', url: '/echo', payload: 'hello', contentType: 'text/csv', status: 415, body: error('ADMIN_ERR_MEDIA_TYPE', 'Unsupported Media Type') },
    { name: 'the Cloudflare routes carry a PKI refusal in their envelope', url: '/client/v4/own/listed', status: 404, body: envelope('CERTS_ERR_CERT_NOT_FOUND', 'no certificate x'), log: refusedLog('CERTS_ERR_CERT_NOT_FOUND', '/client/v4/own/listed', 404, 'no certificate x') },
    { name: 'the Cloudflare routes carry the unexpected in their envelope', url: '/client/v4/boom', status: 500, body: envelope('ADMIN_ERR_INTERNAL', 'the request failed; the gateway log has the cause'), log: failedLog('/client/v4/boom') },
    { name: 'the Cloudflare routes carry a bad request in their envelope', url: '/client/v4/status-400', status: 400, body: envelope('ADMIN_ERR_BAD_REQUEST', 'page must be a positive whole number') }
  ]
  for (const c of cases) it(c.name, async () => await run(app, sink, c))

  it('documents the status each ADMIN_ERR_* code is answered with', () => {
    for (const c of cases) {
      const body = c.body as { error?: { code: string }, errors?: Array<{ code: string }> }
      const code = body.error?.code ?? body.errors?.[0].code ?? ''
      if (code.startsWith('ADMIN_ERR_')) assert.equal(ADMIN_STATUS[code as AdminErrorCode], c.status, code)
    }
  })
})

describe('HTTP error handlers: the temps API', () => {
  const sink = createLogSink()
  const app = Fastify({ bodyLimit: BODY_LIMIT, logger: false })

  before(async () => {
    app.setErrorHandler(bridgeErrorHandler(sink.logger.child({ component: 'temps-api' })))
    failingRoutes(app, kind => kind === 'listed'
      ? new BridgeError('BRIDGE_ERR_API_FORBIDDEN', 'this route is for application certificates (a:<app>)')
      : new BridgeError('BRIDGE_ERR_TIME_INVALID', 'time must be an ISO 8601 instant'))
    await app.ready()
  })
  after(async () => await app.close())

  const error = (code: string, message: string): unknown => ({ error: { code, message } })
  const failedLog = (url: string): Record<string, unknown> =>
    ({ level: 50, event: 'api.error', err: CAUSE, method: 'GET', url, msg: 'temps API request failed' })
  const cases: Case[] = [
    {
      name: 'a refusal with a status in the table, logged without the query string',
      url: '/own/listed?limit=5',
      status: 403,
      body: error('BRIDGE_ERR_API_FORBIDDEN', 'this route is for application certificates (a:<app>)'),
      log: { level: 40, event: 'api.refused', code: 'BRIDGE_ERR_API_FORBIDDEN', method: 'GET', url: '/own/listed', status: 403, msg: 'this route is for application certificates (a:<app>)' }
    },
    {
      name: 'a reading\'s refusal is a 400 with what is wrong',
      url: '/own/unlisted',
      status: 400,
      body: error('BRIDGE_ERR_TIME_INVALID', 'time must be an ISO 8601 instant'),
      log: { level: 40, event: 'api.refused', code: 'BRIDGE_ERR_TIME_INVALID', method: 'GET', url: '/own/unlisted', status: 400, msg: 'time must be an ISO 8601 instant' }
    },
    { name: 'the unexpected is a 500 whose cause is logged, not returned', url: '/boom?limit=5', status: 500, body: error('BRIDGE_ERR_API_INTERNAL', 'the request failed; the gateway log has the cause'), log: failedLog('/boom') },
    { name: 'a 5xx status on an error is the unexpected too', url: '/status-503', status: 500, body: error('BRIDGE_ERR_API_INTERNAL', 'the request failed; the gateway log has the cause'), log: failedLog('/status-503') },
    { name: 'a 4xx status on an error is a bad request with its message', url: '/status-400', status: 400, body: error('BRIDGE_ERR_API_BAD_REQUEST', 'page must be a positive whole number') },
    { name: 'bad JSON is a bad request', method: 'POST', url: '/echo', payload: '{"id":', contentType: 'application/json', status: 400, body: error('BRIDGE_ERR_API_BAD_REQUEST', BAD_JSON) },
    { name: 'a body over the limit is too large, with the limit named', method: 'POST', url: '/echo', payload: JSON.stringify({ pad: 'x'.repeat(BODY_LIMIT) }), contentType: 'application/json', status: 413, body: error('BRIDGE_ERR_API_TOO_LARGE', 'the body is larger than 16 KiB') },
    // The temps API reads every content type itself (temps-server.ts); were a parser missing, 415 keeps its status.
    { name: 'a content type with no parser keeps its 415', method: 'POST', url: '/echo', payload: 'hello', contentType: 'text/csv', status: 415, body: error('BRIDGE_ERR_API_BAD_REQUEST', 'Unsupported Media Type') }
  ]
  for (const c of cases) it(c.name, async () => await run(app, sink, c))
})
