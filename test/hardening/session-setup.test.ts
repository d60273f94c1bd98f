import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { issueClientCert, revokeCert } from '../../certs/index.js'
import { startTestGateway, type TestGateway } from '../support/gateway.js'
import { closed, endAll, tryConnect } from '../support/mqtt-client.js'

interface SetupPersistence {
  cleanSubscriptions: (client: { id: string }) => Promise<unknown>
  outgoingStream: (client: { id: string }) => AsyncIterable<unknown>
}

/** A gate the test opens; a step of aedes' session set-up waits on it for one clientId. */
function gate (): { readonly reached: Promise<void>, arrive: () => void, readonly open: Promise<void>, release: () => void } {
  let arrive = (): void => {}
  let release = (): void => {}
  const reached = new Promise<void>(resolve => { arrive = resolve })
  const open = new Promise<void>(resolve => { release = resolve })
  return { reached, arrive: () => arrive(), open, release: () => release() }
}

/**
 * Aedes authenticates a client, then runs asynchronous session steps (clean or
 * fetch subscriptions, store the Will, CONNACK, replay the offline queue), and
 * only then emits `clientReady`. The real persistence is slowed down for one
 * clientId so that a revocation lands inside those steps, as it can with a
 * long offline queue on Redis.
 */
describe('hardening: a revocation during session set-up still closes the session', function () {
  this.timeout(30_000)
  let gw: TestGateway
  let persistence: SetupPersistence
  let original: SetupPersistence

  before(async () => {
    gw = await startTestGateway({ orgs: ['acme'] })
    persistence = (gw.broker.aedes as unknown as { persistence: SetupPersistence }).persistence
    original = { cleanSubscriptions: persistence.cleanSubscriptions.bind(persistence), outgoingStream: persistence.outgoingStream.bind(persistence) }
  })
  afterEach(() => Object.assign(persistence, original))
  after(async () => await gw.close())

  async function deviceOf (deviceId: string): Promise<{ certPem: string, keyPem: string, id: string }> {
    const issued = await issueClientCert(gw.registry, 'acme', { commonName: `d:sensor:${deviceId}` }, 'test')
    return { certPem: issued.record.certPem, keyPem: issued.keyPem as string, id: issued.record.id }
  }

  it('closes a session revoked while its offline queue is replayed (after CONNACK, before clientReady)', async () => {
    const device = await deviceOf('slow-replay')
    const clientId = 'd:acme:sensor:slow-replay'
    const replay = gate()
    persistence.outgoingStream = client => {
      if (client.id !== clientId) return original.outgoingStream(client)
      replay.arrive()
      return Readable.from((async function * () { await replay.open; yield * original.outgoingStream(client) })())
    }
    const outcome = await tryConnect({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert: device, clientId })
    if (outcome.outcome !== 'connected') assert.fail(`the device should connect first, got ${JSON.stringify(outcome)}`)
    try {
      await replay.reached
      await revokeCert(gw.registry, 'acme', device.id, 'test')
      assert.equal(await closed(outcome.client, 10_000), true, 'the revoked session is closed while aedes is still replaying')
    } finally {
      replay.release()
      await endAll(outcome.client)
    }
  })

  it('closes a session revoked between authentication and CONNACK', async () => {
    const device = await deviceOf('slow-setup')
    const clientId = 'd:acme:sensor:slow-setup'
    const setup = gate()
    persistence.cleanSubscriptions = async client => {
      if (client.id === clientId) {
        setup.arrive()
        await setup.open
      }
      return await original.cleanSubscriptions(client)
    }
    const connecting = tryConnect({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert: device, clientId })
    await setup.reached
    await revokeCert(gw.registry, 'acme', device.id, 'test')
    setup.release()
    const outcome = await connecting
    try {
      if (outcome.outcome === 'connected') assert.equal(await closed(outcome.client, 10_000), true, 'closed right after its CONNACK')
      else assert.notEqual(outcome.outcome, 'connack', 'the set-up had already authenticated it: no CONNACK refusal is expected, only a close')
      const line = await gw.logs.waitFor(l => l.event === 'session.closed' && l.clientId === clientId)
      assert.equal(line.code, 'BROKER_ERR_CERT_REVOKED')
    } finally {
      if (outcome.outcome === 'connected') await endAll(outcome.client)
    }
  })
})
