import assert from 'node:assert/strict'
import { BACKENDS, startGatewayOn, type TestGateway } from '../support/gateway.js'
import { connectPacket, connectRaw } from '../support/raw-mqtt.js'

// Issue 18, item 6: a PUBREC for a packet id the session no longer holds (the
// broker lost it, or the client answers twice) closed a persistent session's
// connection ("no such packet"), so the client reconnected and sent it again.
// Mosquitto answers PUBREL, which lets the client finish its side of the flow.
for (const backend of BACKENDS) {
  describe(`broker: PUBREC for an unknown packet id on a persistent session (${backend})`, function () {
    this.timeout(60_000)
    let gw: TestGateway

    before(async () => { gw = await startGatewayOn(backend, { orgs: ['acme'] }) })
    after(async () => await gw.close())

    it('answers PUBREL and keeps the connection, as Mosquitto does', async () => {
      const raw = await connectRaw({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert: gw.issue('acme', 'a:pubrec') })
      raw.send(connectPacket('a:acme:pubrec', { clean: false }))
      assert.equal((await raw.next())?.cmd, 'connack')
      raw.send({ cmd: 'pubrec', messageId: 4242 })
      const answer = await raw.next()
      assert.deepEqual({ cmd: answer?.cmd, messageId: (answer as { messageId?: number } | undefined)?.messageId }, { cmd: 'pubrel', messageId: 4242 })
      raw.send({ cmd: 'pingreq' })
      assert.equal((await raw.next())?.cmd, 'pingresp', 'the connection is still open')
      raw.end()
    })
  })
}
