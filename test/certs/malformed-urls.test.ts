import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import http, { type IncomingHttpHeaders } from 'node:http'
import https from 'node:https'
import path from 'node:path'
import { freePort } from '../support/redis-server.js'
import { startTestStack, type TestStack } from '../support/stack.js'

interface RawAnswer { readonly status: number, readonly headers: IncomingHttpHeaders, readonly text: string }

/** A request whose path is sent as written (no URL parsing on the way: `%` stays malformed). */
async function raw (client: typeof http | typeof https, options: https.RequestOptions): Promise<RawAnswer> {
  return await new Promise((resolve, reject) => {
    const req = client.request({ host: '127.0.0.1', agent: false, ...options }, res => {
      let text = ''
      res.on('data', chunk => { text += String(chunk) })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }))
    })
    req.on('error', reject)
    req.end()
  })
}

/**
 * A malformed percent-escape in the path (`/orgs/%`) is refused by fastify's
 * router before any route or hook (issue 14, D). Each of the gateway's HTTP
 * APIs answers it as it answers every other refusal: the admin API with
 * ADMIN_ERR_BAD_REQUEST in mqgate's body, in Cloudflare's envelope under
 * /client/v4, as the console's error page under /console, no-store, logged;
 * the temps API and the PKI's HTTP port with BRIDGE_ERR_API_BAD_REQUEST.
 * Never fastify's own `{"error":"Bad Request","code":"FST_ERR_BAD_URL"}`.
 */
describe('malformed URLs', function () {
  this.timeout(60_000)
  let stack: TestStack
  let adminCa: string

  before(async () => {
    stack = await startTestStack({ MQGATE_PKI_HTTP_PORT: String(await freePort()) })
    adminCa = readFileSync(path.join(stack.dataDir, 'admin', 'ca.pem'), 'utf8')
  })
  after(async () => await stack?.close())

  const admin = async (route: string): Promise<RawAnswer> => await raw(https, { port: stack.adminPort, path: route, ca: adminCa, servername: 'localhost', checkServerIdentity: () => undefined })
  const refusalLine = (url: string): Record<string, any> | undefined => stack.logs.find(l => l.url === url && l.cause === 'FST_ERR_BAD_URL')

  it('answers the admin API\'s ADMIN_ERR_BAD_REQUEST in mqgate\'s body, no-store, with a log line', async () => {
    const answer = await admin('/orgs/%')
    assert.equal(answer.status, 400, answer.text)
    assert.equal(JSON.parse(answer.text).error.code, 'ADMIN_ERR_BAD_REQUEST')
    assert.match(JSON.parse(answer.text).error.message, /percent-escape/)
    assert.doesNotMatch(answer.text, /FST_ERR/)
    assert.equal(answer.headers['cache-control'], 'no-store')
    const line = refusalLine('/orgs/%')
    assert.equal(line?.event, 'admin.refused')
    assert.equal(line?.code, 'ADMIN_ERR_BAD_REQUEST')
  })

  it('answers in Cloudflare\'s envelope under /client/v4', async () => {
    const answer = await admin('/client/v4/zones/%/client_certificates')
    assert.equal(answer.status, 400, answer.text)
    const body = JSON.parse(answer.text)
    assert.equal(body.success, false)
    assert.equal(body.errors[0].code, 'ADMIN_ERR_BAD_REQUEST')
    assert.deepEqual(body.result, null)
    assert.equal(answer.headers['cache-control'], 'no-store')
  })

  it('answers the console\'s error page under /console, with its security headers', async () => {
    const answer = await admin('/console/orgs/%25%/cas')
    assert.equal(answer.status, 400, answer.text)
    assert.match(String(answer.headers['content-type']), /^text\/html/)
    assert.match(answer.text, /class="code">ADMIN_ERR_BAD_REQUEST</)
    assert.match(String(answer.headers['content-security-policy']), /default-src 'none'/)
    assert.equal(answer.headers['x-frame-options'], 'DENY')
    assert.equal(answer.headers['cache-control'], 'no-store')
    assert.ok(refusalLine('/console/orgs/%25%/cas'))
  })

  it('answers the temps API\'s and the PKI port\'s BRIDGE_ERR_API_BAD_REQUEST, with a log line', async () => {
    const cert = stack.issue('d:sensor:bad-url')
    const temps = await raw(https, { port: stack.apiPort, path: '/devices/%/x/temps', ca: stack.caPem, servername: 'demo.messaging.localhost', cert: cert.certPem, key: cert.keyPem })
    assert.equal(temps.status, 400, temps.text)
    assert.equal(JSON.parse(temps.text).error.code, 'BRIDGE_ERR_API_BAD_REQUEST')
    assert.equal(refusalLine('/devices/%/x/temps')?.event, 'api.refused')
    const pki = await raw(http, { port: stack.running.ports.pki, path: '/crl/%.crl' })
    assert.equal(pki.status, 400, pki.text)
    assert.equal(JSON.parse(pki.text).error.code, 'BRIDGE_ERR_API_BAD_REQUEST')
    assert.equal(refusalLine('/crl/%.crl')?.event, 'api.refused')
  })
})
