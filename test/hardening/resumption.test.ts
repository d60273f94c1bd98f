import assert from 'node:assert/strict'
import { addCa, issueClientCert, revokeCert, setCaEnabled } from '../../certs/index.js'
import { mintCa, mintClient } from '../support/pki.js'
import { startTestGateway, type TestGateway } from '../support/gateway.js'
import { connectPacket, connectRaw } from '../support/raw-mqtt.js'

describe('hardening: TLS session resumption cannot carry an identity where it does not belong', () => {
  let gw: TestGateway

  before(async () => { gw = await startTestGateway({ orgs: ['acme', 'globex'] }) })
  after(async () => await gw.close())

  /** Connects as an acme device, completes CONNECT, and keeps the TLS session for later. */
  async function acmeSession (cert: { certPem: string, keyPem: string }, clientId: string, maxVersion?: 'TLSv1.2' | 'TLSv1.3'): Promise<Buffer> {
    const first = await connectRaw({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert, maxVersion })
    first.send(connectPacket(clientId))
    assert.equal((await first.next())?.cmd, 'connack')
    const session = await first.session()
    first.end()
    return session
  }

  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    it(`refuses an acme session resumed under globex's SNI without a certificate (${version})`, async () => {
      const cert = gw.issue('acme', 'd:sensor:hopper')
      const session = await acmeSession(cert, 'd:acme:sensor:hopper', version)
      const resumed = await connectRaw({ port: gw.port, servername: gw.serverName('globex'), caPem: gw.caOf('globex'), session, maxVersion: version })
      assert.equal(resumed.socket.isSessionReused(), true, 'the attack: Node resumes the acme session under globex, with no certificate')
      resumed.send(connectPacket('d:globex:sensor:hopper'))
      const answer = await resumed.next() as { cmd: string, returnCode?: number } | undefined
      assert.deepEqual([answer?.cmd, answer?.returnCode], ['connack', 5])
      const line = await gw.logs.waitFor(l => l.event === 'connect.refused' && l.clientId === 'd:globex:sensor:hopper')
      assert.equal(line.code, 'BROKER_ERR_CERT_UNTRUSTED', 'acme\'s certificate is not trusted by globex')
      assert.equal(line.orgId, 'globex')
      resumed.end()
    })
  }

  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    it(`still resumes a session within its own organisation, no extra cost for the honest case (${version})`, async () => {
      // TLS 1.2 resumption keeps no SNI name: the organisation comes from the clientId then.
      const cert = gw.issue('acme', `d:sensor:regular-${version}`)
      const session = await acmeSession(cert, `d:acme:sensor:regular-${version}`, version)
      const again = await connectRaw({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert, session, maxVersion: version })
      assert.equal(again.socket.isSessionReused(), true)
      again.send(connectPacket(`d:acme:sensor:regular-${version}`))
      const answer = await again.next()
      assert.equal(answer?.cmd, 'connack')
      assert.equal((answer as { returnCode: number }).returnCode, 0)
      again.end()
    })
  }

  it('refuses a session resumed after its CA was disabled', async () => {
    const operator = mintCa('Resumed operator CA')
    const ca = await addCa(gw.registry, 'acme', operator.certPem, '', 'test')
    const cert = mintClient(operator, 'd:sensor:op-resumed')
    const session = await acmeSession(cert, 'd:acme:sensor:op-resumed', 'TLSv1.3')
    await setCaEnabled(gw.registry, 'acme', ca.id, false, 'test')
    const resumed = await connectRaw({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert, session })
    resumed.send(connectPacket('d:acme:sensor:op-resumed'))
    const answer = await resumed.next()
    assert.ok(answer === undefined || (answer.cmd === 'connack' && answer.returnCode === 5), `refused, got ${JSON.stringify(answer)}`)
    resumed.end()
  })

  it('refuses a session resumed after its certificate was revoked, and rotates the ticket keys', async () => {
    const issued = await issueClientCert(gw.registry, 'acme', { commonName: 'd:sensor:revoked-later' }, 'test')
    const cert = { certPem: issued.record.certPem, keyPem: issued.keyPem as string }
    const session = await acmeSession(cert, 'd:acme:sensor:revoked-later')
    await revokeCert(gw.registry, 'acme', issued.record.id, 'test')
    const resumed = await connectRaw({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), session })
    assert.equal(resumed.socket.isSessionReused(), false, 'the old ticket no longer resumes')
    resumed.send(connectPacket('d:acme:sensor:revoked-later'))
    const answer = await resumed.next()
    assert.ok(answer === undefined || (answer.cmd === 'connack' && answer.returnCode === 5), `refused, got ${JSON.stringify(answer)}`)
    resumed.end()
  })
})
