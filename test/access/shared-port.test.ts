import assert from 'node:assert/strict'
import tls from 'node:tls'
import { serverNameOf } from '../../access/index.js'
import { connect } from '../support/mqtt-client.js'
import { freePort } from '../support/redis-server.js'
import { startTestStack, type TestStack } from '../support/stack.js'

/**
 * The shared TLS port (MQGATE_TLS_PORT) hands its HTTPS connections to an
 * HTTP server that never listens itself: it must still drop a client that
 * sends nothing, and shutting the process down must not wait for the MQTT
 * clients it carries.
 */
describe('access: the shared TLS port holds nothing it should not', function () {
  this.timeout(60_000)
  let stack: TestStack | undefined
  let port = 0

  beforeEach(async () => {
    port = await freePort()
    stack = await startTestStack({ MQGATE_TLS_PORT: String(port), MQGATE_CONNECT_TIMEOUT_MS: '1000' })
  })
  afterEach(async () => await stack?.close())

  it('closes an HTTPS connection that sends nothing after the connect timeout', async () => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: serverNameOf('demo', 'localhost'), ca: stack?.caPem, ALPNProtocols: ['http/1.1'], checkServerIdentity: () => undefined })
    await new Promise<void>((resolve, reject) => { socket.once('secureConnect', () => resolve()); socket.once('error', reject) })
    assert.equal(socket.alpnProtocol, 'http/1.1')
    const started = Date.now()
    const closedAfter = await new Promise<number>(resolve => {
      socket.once('close', () => resolve(Date.now() - started))
      setTimeout(() => resolve(Infinity), 5000).unref()
    })
    socket.destroy()
    assert.ok(closedAfter < 4000, `closed after ${closedAfter} ms`)
  })

  it('shuts down while an MQTT client is connected on it', async () => {
    const running = stack as TestStack
    const device = await connect({ port, alpn: ['mqtt'], servername: serverNameOf('demo', 'localhost'), caPem: running.caPem, cert: running.issue('d:sensor:stays'), clientId: 'd:demo:sensor:stays', skipServerNameCheck: true })
    device.on('error', () => {})
    stack = undefined
    const outcome = await Promise.race([running.close().then(() => 'closed'), new Promise(resolve => setTimeout(() => resolve('still closing after 15 s'), 15_000).unref())])
    device.end(true)
    assert.equal(outcome, 'closed')
  })
})
