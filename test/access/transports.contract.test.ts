import assert from 'node:assert/strict'
import { serverNameOf } from '../../access/index.js'
import { addCa, issueClientCert, managedCaOf, revokeCert, setCaEnabled, setCrlPolicy, setOcspCheck } from '../../certs/index.js'
import { mintCa, mintClient, type TestCert } from '../support/pki.js'
import { freePort } from '../support/redis-server.js'
import { startTestStack, type TestStack } from '../support/stack.js'
import { httpsTransport, mqttTransport, type Transport, type TransportTarget } from '../support/transports.js'

/**
 * Issue 12: one identity path for every transport. The same refusal cases run
 * against MQTT over TLS, MQTT over secure WebSocket, the temps API over HTTPS,
 * and each of those on the shared TLS port (MQGATE_TLS_PORT, told apart by
 * ALPN): each must give the same code on each. Every case has a control (a
 * valid device of the same CA is accepted), so a refusal is for the reason it
 * names, not a broken setup.
 */
describe('access: the same identity and refusals on every transport', function () {
  this.timeout(60_000)
  let stack: TestStack
  let operator: TestCert
  let disabled: TestCert
  let globexDevice: TestCert
  let ocspChecked: TestCert
  const demo = serverNameOf('demo', 'localhost')
  const globex = serverNameOf('globex', 'localhost')
  const ports = { ws: 0, tls: 0 }

  before(async () => {
    ports.ws = await freePort()
    ports.tls = await freePort()
    stack = await startTestStack({ MQGATE_WS_PORT: String(ports.ws), MQGATE_TLS_PORT: String(ports.tls) })
    const registry = stack.running.registry
    await registry.createOrg('globex')
    operator = mintCa('Contract operator CA')
    await addCa(registry, 'demo', operator.certPem, '', 'test')
    disabled = mintCa('Contract disabled CA')
    const disabledRecord = await addCa(registry, 'demo', disabled.certPem, '', 'test')
    await setCaEnabled(registry, 'demo', disabledRecord.id, false, 'test')
    const globexCa = await addCa(registry, 'globex', mintCa('Globex CA').certPem, '', 'test')
    // `ca ocsp on` under a closed policy: a device naming no OCSP responder has no answer to pass with.
    ocspChecked = mintCa('Contract OCSP-checked CA')
    const ocspRecord = await addCa(registry, 'demo', ocspChecked.certPem, '', 'test')
    await setOcspCheck(registry, 'demo', ocspRecord.id, true, 'test')
    await setCrlPolicy(registry, 'demo', ocspRecord.id, 'closed', 'test')
    globexDevice = mintClient(operator, 'd:sensor:elsewhere')
    assert.ok(globexCa)
  })
  after(async () => await stack.close())

  const target = (port: () => number): TransportTarget => ({
    port,
    caPem: () => stack.caPem + managedCaOf(stack.running.registry.require('globex')).certPem,
    get logs () { return stack.logs }
  })
  const transports: Transport[] = [
    mqttTransport('MQTT over TLS', target(() => stack.mqttPort), 'mqtts'),
    mqttTransport('MQTT over secure WebSocket', target(() => ports.ws), 'wss'),
    httpsTransport('HTTPS (temps API)', target(() => stack.apiPort)),
    mqttTransport('MQTT on the shared port (ALPN mqtt)', target(() => ports.tls), 'mqtts', ['mqtt']),
    mqttTransport('MQTT on the shared port (ALPN x-amzn-mqtt-ca)', target(() => ports.tls), 'mqtts', ['x-amzn-mqtt-ca']),
    mqttTransport('MQTT over WebSocket on the shared port', target(() => ports.tls), 'wss'),
    httpsTransport('HTTPS on the shared port', target(() => ports.tls))
  ]

  let serial = 0
  const device = (issuer: () => TestCert, options: Parameters<typeof mintClient>[2] = {}, cn?: string): () => { cert: TestCert, clientId: string } => () => {
    const id = `c${++serial}`
    return { cert: mintClient(issuer(), cn ?? `d:sensor:${id}`, options), clientId: `d:demo:sensor:${id}` }
  }
  const DAY = 86_400_000
  const cases: Array<[string, () => { cert?: TestCert, clientId: string, servername?: string }, string]> = [
    ['a valid device (the control)', device(() => operator), 'accepted'],
    ['no client certificate', () => ({ clientId: 'd:demo:sensor:anonymous' }), 'BROKER_ERR_NO_CLIENT_CERT'],
    ['a CA the organisation does not trust', device(() => mintCa('Stranger CA')), 'BROKER_ERR_CERT_UNTRUSTED'],
    ['another organisation\'s SNI name', () => ({ cert: globexDevice, clientId: 'd:globex:sensor:elsewhere', servername: globex }), 'BROKER_ERR_CERT_UNTRUSTED'],
    ['an expired certificate', device(() => operator, { notBefore: new Date(Date.now() - 30 * DAY), notAfter: new Date(Date.now() - DAY) }), 'BROKER_ERR_CERT_EXPIRED'],
    ['a certificate of a disabled CA', device(() => disabled), 'BROKER_ERR_CERT_UNTRUSTED'],
    ['a CA certificate as client certificate', device(() => operator, { isCA: true, keyUsage: 'none', extKeyUsage: 'none' }), 'BROKER_ERR_CERT_IS_CA'],
    ['a CN that names no identity', device(() => operator, {}, 'sensor-without-scheme'), 'BROKER_ERR_CN_MALFORMED'],
    ['no OCSP answer for a device of a CA with ca ocsp on and a closed policy', device(() => ocspChecked), 'BROKER_ERR_OCSP_UNAVAILABLE']
  ]

  for (const transport of transports) {
    describe(transport.name, () => {
      for (const [label, make, expected] of cases) {
        it(`${expected === 'accepted' ? 'accepts' : `refuses with ${expected}`}: ${label}`, async () => {
          const { cert, clientId, servername } = make()
          assert.equal(await transport.attempt({ cert, clientId, servername: servername ?? demo }), expected)
        })
      }

      it('closes (or refuses the next request of) a live connection within 1 s of its certificate\'s revocation: BROKER_ERR_CERT_REVOKED', async () => {
        const id = `live${++serial}`
        const issued = await issueClientCert(stack.running.registry, 'demo', { commonName: `d:sensor:${id}` }, 'test')
        const live = await transport.live({ certPem: issued.record.certPem, keyPem: issued.keyPem as string }, demo, `d:demo:sensor:${id}`)
        try {
          await revokeCert(stack.running.registry, 'demo', issued.record.id, 'test')
          assert.equal(await live.refusal(1000), 'BROKER_ERR_CERT_REVOKED')
        } finally {
          await live.close()
        }
      })

      it('refuses a session made in one organisation and resumed under another\'s SNI name: BROKER_ERR_CERT_UNTRUSTED', async () => {
        const cert = stack.issue(`d:sensor:hopper${++serial}`)
        const session = await transport.sessionOf(cert, demo)
        assert.equal(await transport.attempt({ servername: globex, session, clientId: `d:globex:sensor:hopper${serial}` }), 'BROKER_ERR_CERT_UNTRUSTED')
      })
    })
  }
})
