import assert from 'node:assert/strict'
import { addCa, setCaEnabled } from '../../certs/index.js'
import { startTestGateway, type TestGateway } from '../support/gateway.js'
import { DAYS, mintCa, mintClient, type TestCert } from '../support/pki.js'
import { closed, collect, connect, endAll, tryConnect, type ClientSpec } from '../support/mqtt-client.js'

describe('broker: who may connect', () => {
  let gw: TestGateway
  let operatorCa: TestCert

  before(async () => {
    gw = await startTestGateway({ orgs: ['acme', 'globex'] })
    operatorCa = mintCa('Acme operator CA')
    await addCa(gw.registry, 'acme', operatorCa.certPem, 'factory line 1', 'test')
  })
  after(async () => await gw.close())

  const acme = (cert: TestCert | undefined, clientId: string, extra: Partial<ClientSpec> = {}): ClientSpec =>
    ({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert, clientId, ...extra })

  async function expectTlsRefusal (spec: ClientSpec, code: string): Promise<void> {
    const result = await tryConnect(spec)
    assert.equal(result.outcome, 'closed', `expected the TLS layer to close the connection, got ${JSON.stringify(result)}`)
    const line = await gw.logs.waitFor(l => l.event === 'tls.refused' && l.code === code)
    assert.equal(line.level, 40)
  }

  async function expectConnack (spec: ClientSpec, returnCode: number, code: string): Promise<Record<string, any>> {
    const result = await tryConnect(spec)
    assert.deepEqual(result, { outcome: 'connack', returnCode })
    return await gw.logs.waitFor(l => l.event === 'connect.refused' && l.code === code && l.clientId === spec.clientId)
  }

  // [MQTT-3.1.4-2]: in one process aedes closes the older connection itself, without the
  // $SYS new/clients announcement the broker no longer publishes there.
  it('closes the older connection when the same clientId connects again', async () => {
    const cert = gw.issue('acme', 'd:sensor:twice')
    const old = await connect(acme(cert, 'd:acme:sensor:twice'))
    const fresh = await connect(acme(cert, 'd:acme:sensor:twice'))
    assert.equal(await closed(old), true, 'the older connection is closed')
    assert.equal(fresh.connected, true)
    await endAll(old, fresh)
  })

  it('delivers a device event in the short form to an application under the canonical topic', async () => {
    const app = await connect(acme(gw.issue('acme', 'a:dashboard'), 'a:acme:dashboard'))
    const device = await connect(acme(gw.issue('acme', 'd:sensor:demo-001'), 'd:acme:sensor:demo-001'))
    const inbox = collect(app)
    assert.deepEqual(await app.subscribeAsync('iot-2/type/+/id/+/evt/+/fmt/+', { qos: 1 }).then(g => g.map(s => s.qos)), [1])
    await device.publishAsync('iot-2/evt/temp/fmt/json', '{"temperature":36.6,"time":"2020-09-28T02:54:56Z"}', { qos: 1 })
    const message = await inbox.next()
    assert.equal(message.topic, 'iot-2/type/sensor/id/demo-001/evt/temp/fmt/json')
    assert.equal(message.payload, '{"temperature":36.6,"time":"2020-09-28T02:54:56Z"}')
    const connected = gw.logs.find(l => l.event === 'client.connected' && l.clientId === 'd:acme:sensor:demo-001')
    assert.match(connected?.fingerprint, /^[0-9a-f]{64}$/)
    await endAll(app, device)
  })

  it('accepts a device certificate from an operator-uploaded CA', async () => {
    const device = await connect(acme(mintClient(operatorCa, 'd:sensor:line1-7'), 'd:acme:sensor:line1-7'))
    await endAll(device)
  })

  it('takes the identity from a SAN email entry when the subject has no CN', async () => {
    const cert = mintClient(operatorCa, undefined, { sanEmails: ['d:sensor:san-only'] })
    const device = await connect(acme(cert, 'd:acme:sensor:san-only'))
    await endAll(device)
  })

  it('refuses a connection without a client certificate', async () => {
    await expectTlsRefusal(acme(undefined, 'd:acme:sensor:x'), 'BROKER_ERR_NO_CLIENT_CERT')
  })

  it('refuses a certificate from a CA no organisation trusts', async () => {
    const stranger = mintCa('Stranger CA')
    await expectTlsRefusal(acme(mintClient(stranger, 'd:sensor:x'), 'd:acme:sensor:x'), 'BROKER_ERR_CERT_UNTRUSTED')
    const line = gw.logs.find(l => l.event === 'tls.refused' && l.code === 'BROKER_ERR_CERT_UNTRUSTED')
    assert.match(line?.fingerprint, /^[0-9a-f]{64}$/, 'the refusal names the certificate it refused')
  })

  it('refuses a device of one organisation connecting with another organisation\'s SNI', async () => {
    const globexDevice = gw.issue('globex', 'd:sensor:g-1')
    await expectTlsRefusal(acme(globexDevice, 'd:acme:sensor:g-1'), 'BROKER_ERR_CERT_UNTRUSTED')
    const own = await connect({ port: gw.port, servername: gw.serverName('globex'), caPem: gw.caOf('globex'), cert: globexDevice, clientId: 'd:globex:sensor:g-1' })
    await endAll(own)
  })

  it('refuses an expired certificate', async () => {
    const cert = mintClient(operatorCa, 'd:sensor:old', { notBefore: DAYS(-30), notAfter: DAYS(-1) })
    await expectTlsRefusal(acme(cert, 'd:acme:sensor:old'), 'BROKER_ERR_CERT_EXPIRED')
  })

  it('refuses a certificate that is not valid yet', async () => {
    const cert = mintClient(operatorCa, 'd:sensor:early', { notBefore: DAYS(1), notAfter: DAYS(30) })
    await expectTlsRefusal(acme(cert, 'd:acme:sensor:early'), 'BROKER_ERR_CERT_NOT_YET_VALID')
  })

  it('refuses a certificate whose CA the operator disabled, and accepts it again once re-enabled', async () => {
    const lineCa = mintCa('Line 2 CA')
    const record = await addCa(gw.registry, 'acme', lineCa.certPem, '', 'test')
    const cert = mintClient(lineCa, 'd:sensor:line2-1')
    await endAll(await connect(acme(cert, 'd:acme:sensor:line2-1')))
    await setCaEnabled(gw.registry, 'acme', record.id, false, 'test')
    await expectTlsRefusal(acme(cert, 'd:acme:sensor:line2-1'), 'BROKER_ERR_CERT_UNTRUSTED')
    await setCaEnabled(gw.registry, 'acme', record.id, true, 'test')
    await endAll(await connect(acme(cert, 'd:acme:sensor:line2-1')))
  })

  it('refuses a CA certificate presented as a client certificate (CONNACK 5)', async () => {
    // CA:TRUE without keyUsage passes OpenSSL's client purpose check: the broker must refuse it itself.
    const cert = mintClient(operatorCa, 'd:sensor:sub-ca', { isCA: true, keyUsage: 'none' })
    await expectConnack(acme(cert, 'd:acme:sensor:sub-ca'), 5, 'BROKER_ERR_CERT_IS_CA')
  })

  it('refuses a CA certificate with CA key usage at the handshake', async () => {
    const cert = mintClient(operatorCa, 'd:sensor:sub-ca2', { isCA: true, keyUsage: 'ca' })
    await expectTlsRefusal(acme(cert, 'd:acme:sensor:sub-ca2'), 'BROKER_ERR_CERT_PURPOSE')
  })

  it('refuses a certificate whose extended key usage lacks clientAuth', async () => {
    const cert = mintClient(operatorCa, 'd:sensor:server-only', { extKeyUsage: 'serverAuth' })
    await expectTlsRefusal(acme(cert, 'd:acme:sensor:server-only'), 'BROKER_ERR_CERT_PURPOSE')
  })

  for (const [label, cn] of [['a slash', 'd:sensor:a/b'], ['a plus', 'd:sensor:a+b'], ['a hash', 'd:sensor:a#b'], ['a space', 'd:sensor:a b'], ['no class', 'sensor-1'], ['an empty id', 'd:sensor:']] as const) {
    it(`refuses a CN with ${label} (CONNACK 5)`, async () => {
      const cert = mintClient(operatorCa, cn)
      await expectConnack(acme(cert, 'd:acme:sensor:a'), 5, 'BROKER_ERR_CN_MALFORMED')
    })
  }

  it('refuses a certificate with a repeated CN (CONNACK 5)', async () => {
    const cert = mintClient(operatorCa, undefined, { commonNames: ['d:sensor:one', 'd:sensor:two'] })
    await expectConnack(acme(cert, 'd:acme:sensor:one'), 5, 'BROKER_ERR_CN_REPEATED')
  })

  it('refuses the clientId of another device (CONNACK 2), so no session can be taken over', async () => {
    const victim = await connect(acme(gw.issue('acme', 'd:sensor:victim'), 'd:acme:sensor:victim'))
    const line = await expectConnack(acme(gw.issue('acme', 'd:sensor:intruder'), 'd:acme:sensor:victim'), 2, 'BROKER_ERR_CLIENTID_MISMATCH')
    assert.match(line.fingerprint, /^[0-9a-f]{64}$/)
    assert.equal(victim.connected, true, 'the victim keeps its session')
    await endAll(victim)
  })

  it('refuses a clientId naming another organisation (CONNACK 2)', async () => {
    await expectConnack(acme(gw.issue('acme', 'd:sensor:s1'), 'd:globex:sensor:s1'), 2, 'BROKER_ERR_CLIENTID_MISMATCH')
  })

  it('lets an application connect several instances with a :<n> suffix', async () => {
    const cert = gw.issue('acme', 'a:billing')
    const first = await connect(acme(cert, 'a:acme:billing:1'))
    const second = await connect(acme(cert, 'a:acme:billing:2'))
    assert.ok(first.connected && second.connected)
    await endAll(first, second)
  })

  it('refuses an unknown organisation in the SNI name at the handshake', async () => {
    await expectTlsRefusal(acme(gw.issue('acme', 'd:sensor:x'), 'd:nope:sensor:x', { servername: 'nope.messaging.localhost' }), 'BROKER_ERR_TLS_UNKNOWN_ORG')
  })

  it('refuses a client that sends no SNI when no default organisation is set', async () => {
    await expectTlsRefusal(acme(gw.issue('acme', 'd:sensor:x'), 'd:acme:sensor:x', { servername: undefined, skipServerNameCheck: true }), 'BROKER_ERR_TLS_NO_SNI')
  })

  it('refuses a Will on a topic the identity may not publish to (CONNACK 5)', async () => {
    const will = { topic: 'iot-2/type/sensor/id/someone-else/evt/status/fmt/json', payload: Buffer.from('gone'), qos: 0 as const, retain: false }
    await expectConnack(acme(gw.issue('acme', 'd:sensor:w1'), 'd:acme:sensor:w1', { will }), 5, 'BROKER_ERR_WILL_FORBIDDEN')
  })

  it('never writes a private key or a payload into the log', () => {
    const text = gw.logs.text()
    assert.doesNotMatch(text, /PRIVATE KEY/)
    assert.doesNotMatch(text, /temperature/)
  })
})
