import assert from 'node:assert/strict'
import { X509Certificate, createPublicKey, generateKeyPairSync } from 'node:crypto'
import type { MqttClient, Packet } from 'mqtt'
import { createCsr, issueClientCert, setOrgLimits, setRenewalWindow, splitPemCertificates } from '../../certs/index.js'
import { createClaim, revokeClaim } from '../../certs/enrollment/claims.js'
import { startTestGateway, type TestGateway } from '../support/gateway.js'
import { closed, collect, connect, endAll, sleep, subscribeGranted, tryConnect, type ClientSpec, type Received } from '../support/mqtt-client.js'
import { openssl } from '../support/openssl.js'
import type { TestCert } from '../support/pki.js'
import { freePort } from '../support/redis-server.js'

const CSR_TOPIC = 'iot-2/enroll/csr/fmt/pem'
const CHAIN_TOPIC = 'iot-2/enroll/result/fmt/pem'
const ERROR_TOPIC = 'iot-2/enroll/result/fmt/json'

/** A fresh P-256 key and a CSR for `commonName`, made on the "device". */
function keyAndCsr (commonName: string): { keyPem: string, csrPem: string } {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  return { keyPem, csrPem: createCsr(keyPem, commonName, []) }
}

describe('broker: enrollment and renewal over MQTT (MQTT-only devices)', function () {
  this.timeout(60_000)
  let gw: TestGateway
  let claim: TestCert
  let otherClaim: TestCert

  before(async () => {
    gw = await startTestGateway({ orgs: ['acme', 'globex'], wsPort: await freePort() })
    const created = await createClaim(gw.registry, 'acme', { name: 'factory', types: ['sensor'] }, 'test')
    claim = { certPem: created.issued.record.certPem, keyPem: created.issued.keyPem as string }
    const other = await createClaim(gw.registry, 'acme', { name: 'line2', types: ['sensor'] }, 'test')
    otherClaim = { certPem: other.issued.record.certPem, keyPem: other.issued.keyPem as string }
    await setRenewalWindow(gw.registry, 'acme', 'any', 'test')
  })
  after(async () => await gw.close())

  const acme = (cert: TestCert, clientId: string): ClientSpec =>
    ({ port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), cert, clientId })

  /** Publishes the CSR at QoS 1 and returns the one answer the client receives (subscribed or not). */
  async function request (client: MqttClient, csrPem: string, options: { subscribe?: boolean, retain?: boolean } = {}): Promise<Received> {
    const inbox = collect(client)
    if (options.subscribe !== false) assert.deepEqual(await subscribeGranted(client, { 'iot-2/enroll/result/fmt/+': { qos: 1 } }), [1])
    const order: string[] = []
    const onPacket = (packet: Packet): void => { if (packet.cmd === 'publish' || packet.cmd === 'puback') order.push(packet.cmd) }
    client.on('packetreceive', onPacket)
    const acked = client.publishAsync(CSR_TOPIC, csrPem, { qos: 1, retain: options.retain === true })
    acked.catch(() => {})
    const answer = await inbox.next(10_000)
    await acked
    client.off('packetreceive', onPacket)
    // The PUBACK says the enrollment was decided: it follows the answer.
    assert.deepEqual(order, ['publish', 'puback'])
    // Delivered directly to the requester, never also through its subscription.
    await sleep(300)
    assert.equal(inbox.messages.length, 1, 'exactly one answer')
    return answer
  }

  function errorOf (answer: Received): string {
    assert.equal(answer.topic, ERROR_TOPIC, `expected a refusal, got ${answer.topic}: ${answer.payload.slice(0, 200)}`)
    return JSON.parse(answer.payload).error.code
  }

  async function expectConnack (spec: ClientSpec, returnCode: number, code: string): Promise<void> {
    assert.deepEqual(await tryConnect(spec), { outcome: 'connack', returnCode })
    await gw.logs.waitFor(l => l.event === 'connect.refused' && l.code === code && l.clientId === spec.clientId)
  }

  it('enrolls a device with a claim certificate: the chain comes back on the result topic, and the device connects with it', async () => {
    const app = await connect(acme(gw.issue('acme', 'a:watcher'), 'a:acme:watcher'))
    const watched = collect(app)
    await app.subscribeAsync('iot-2/#', { qos: 1 })
    const routed: string[] = []
    const onPublish = (packet: { topic: string }): void => { routed.push(packet.topic) }
    gw.broker.aedes.on('publish', onPublish)
    const session = await connect(acme(claim, 'c:acme:factory:boot-001'))
    const device = keyAndCsr('d:sensor:mqtt-001')
    const answer = await request(session, device.csrPem, { retain: true })
    gw.broker.aedes.off('publish', onPublish)

    assert.equal(answer.topic, CHAIN_TOPIC, answer.payload.slice(0, 300))
    const pems = splitPemCertificates(answer.payload)
    assert.equal(pems.length, 2, 'the new certificate, then the CA chain')
    const [leaf, ca] = pems.map(pem => new X509Certificate(pem))
    assert.equal(leaf.subject, 'CN=d:sensor:mqtt-001')
    assert.equal(ca.fingerprint256, new X509Certificate(gw.caOf('acme')).fingerprint256)
    assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey), 'signed by the organisation\'s CA')
    assert.ok(leaf.publicKey.equals(createPublicKey(device.keyPem)), 'for the key the device made')
    assert.match(openssl(['x509', '-noout', '-subject'], { input: pems[0] }), /subject=CN\s*=\s*d:sensor:mqtt-001/)

    // Same records and audit line as over EST: enroll() through the one issuance path.
    const audit = await gw.logs.waitFor(l => l.event === 'audit' && l.action === 'enroll.claim' && l.commonName === 'd:sensor:mqtt-001')
    assert.equal(audit.actor, 'mqtt:c:factory')
    assert.equal(audit.claim, 'factory')
    assert.equal((await gw.registry.store.get('acme', 'claims', 'factory'))?.uses, 1)

    const enrolled = await connect(acme({ certPem: answer.payload, keyPem: device.keyPem }, 'd:acme:sensor:mqtt-001'))
    assert.equal(enrolled.connected, true)
    // The CSR went to no subscriber (aedes never routed it, nor kept it retained), and the answer to the requester alone.
    assert.deepEqual(watched.messages, [])
    assert.deepEqual(routed.filter(topic => !topic.startsWith('$SYS/')), [])
    const retained: unknown[] = []
    for await (const packet of (gw.broker.aedes as any).persistence.createRetainedStreamCombi(['#', '$enroll/#'])) retained.push(packet)
    assert.deepEqual(retained, [])
    await endAll(app, session, enrolled)
  })

  it('answers a claim session that did not subscribe to the result topic', async () => {
    const session = await connect(acme(claim, 'c:acme:factory:boot-002'))
    const answer = await request(session, keyAndCsr('d:sensor:mqtt-002').csrPem, { subscribe: false })
    assert.equal(answer.topic, CHAIN_TOPIC)
    assert.equal(new X509Certificate(answer.payload).subject, 'CN=d:sensor:mqtt-002')
    await endAll(session)
  })

  it('enrolls the same way over MQTT over secure WebSocket', async () => {
    const session = await connect({ ...acme(claim, 'c:acme:factory:ws-001'), port: gw.wsPort as number, transport: 'wss' })
    const answer = await request(session, keyAndCsr('d:sensor:ws-001').csrPem)
    assert.equal(answer.topic, CHAIN_TOPIC, answer.payload.slice(0, 300))
    assert.equal(new X509Certificate(answer.payload).subject, 'CN=d:sensor:ws-001')
    await endAll(session)
  })

  it('refuses a claim clientId of another claim, or of another organisation (CONNACK 2)', async () => {
    await expectConnack(acme(claim, 'c:acme:line2:boot-003'), 2, 'BROKER_ERR_CLIENTID_MISMATCH')
    await expectConnack(acme(claim, 'c:globex:factory:boot-003'), 2, 'BROKER_ERR_CLIENTID_MISMATCH')
    await expectConnack(acme(otherClaim, 'c:acme:factory:boot-003'), 2, 'BROKER_ERR_CLIENTID_MISMATCH')
  })

  it('refuses a claim clientId without a valid nonce, and a device certificate with a claim clientId (CONNACK 2)', async () => {
    await expectConnack(acme(claim, 'c:acme:factory:'), 2, 'BROKER_ERR_CLIENTID_MISMATCH')
    await expectConnack(acme(claim, 'c:acme:factory:a/b'), 2, 'BROKER_ERR_CLIENTID_MISMATCH')
    await expectConnack(acme(gw.issue('acme', 'd:sensor:sly'), 'c:acme:factory:sly'), 2, 'BROKER_ERR_CLIENTID_MISMATCH')
  })

  it('still refuses a claim certificate under any other clientId (CONNACK 5)', async () => {
    await expectConnack(acme(claim, 'd:acme:sensor:mqtt-009'), 5, 'BROKER_ERR_CLAIM_ONLY_ENROLLS')
  })

  it('closes a claim session that publishes anywhere but the CSR topic', async () => {
    const session = await connect(acme(claim, 'c:acme:factory:boot-004'))
    session.publish('iot-2/evt/temp/fmt/json', '{"temperature":1,"time":"2026-12-01T00:00:00Z"}', { qos: 1 })
    assert.equal(await closed(session, 5000), true, 'the connection is closed [MQTT-3.3.5-2]')
    const line = await gw.logs.waitFor(l => l.event === 'publish.refused' && l.clientId === 'c:acme:factory:boot-004')
    assert.equal(line.code, 'BROKER_ERR_CLAIM_ONLY_ENROLLS')
    await endAll(session)
  })

  it('refuses a claim session\'s subscription to events (granted QoS 128)', async () => {
    const session = await connect(acme(claim, 'c:acme:factory:boot-005'))
    assert.deepEqual(await subscribeGranted(session, { 'iot-2/type/+/id/+/evt/+/fmt/+': { qos: 1 }, [CHAIN_TOPIC]: { qos: 1 } }), [128, 1])
    const line = await gw.logs.waitFor(l => l.event === 'subscribe.refused' && l.clientId === 'c:acme:factory:boot-005')
    assert.equal(line.code, 'BROKER_ERR_CLAIM_ONLY_ENROLLS')
    assert.equal(session.connected, true)
    await endAll(session)
  })

  it('answers a claim enrolling a type it does not allow with enroll()\'s code (an unreadable or oversized CSR with theirs), and keeps the session', async () => {
    const session = await connect(acme(claim, 'c:acme:factory:boot-006'))
    assert.equal(errorOf(await request(session, keyAndCsr('d:thermo:mqtt-006').csrPem)), 'CERTS_ERR_CLAIM_TYPE_NOT_ALLOWED')
    assert.equal(errorOf(await request(session, 'not a CSR')), 'CERTS_ERR_CSR_UNPARSABLE')
    assert.equal(errorOf(await request(session, 'A'.repeat(64 * 1024 + 1))), 'BROKER_ERR_ENROLL_CSR_TOO_LARGE')
    assert.equal(session.connected, true)
    await endAll(session)
  })

  it('counts claim sessions against the organisation\'s connection limit (CONNACK 3)', async () => {
    const created = await createClaim(gw.registry, 'globex', { name: 'factory', types: ['sensor'] }, 'test')
    const globexClaim = { certPem: created.issued.record.certPem, keyPem: created.issued.keyPem as string }
    const globex = (clientId: string): ClientSpec => ({ port: gw.port, servername: gw.serverName('globex'), caPem: gw.caOf('globex'), cert: globexClaim, clientId })
    await setOrgLimits(gw.registry, 'globex', { connections: 1 }, 'test')
    const held = await connect(globex('c:globex:factory:n1'))
    await expectConnack(globex('c:globex:factory:n2'), 3, 'BROKER_ERR_LIMIT_ORG_CONNECTIONS')
    await setOrgLimits(gw.registry, 'globex', { connections: null }, 'test')
    await endAll(held)
  })

  it('closes a claim session when its claim is revoked', async () => {
    const created = await createClaim(gw.registry, 'acme', { name: 'doomed', types: ['sensor'] }, 'test')
    const session = await connect(acme({ certPem: created.issued.record.certPem, keyPem: created.issued.keyPem as string }, 'c:acme:doomed:boot-007'))
    await revokeClaim(gw.registry, 'acme', 'doomed', 'test')
    assert.equal(await closed(session, 5000), true, 'the live claim session is closed')
    const line = await gw.logs.waitFor(l => l.event === 'session.closed' && l.clientId === 'c:acme:doomed:boot-007')
    assert.equal(line.code, 'BROKER_ERR_CERT_REVOKED')
    await endAll(session)
  })

  it('renews a device\'s own certificate: the new one names the one it replaces and connects', async () => {
    const current = await issueClientCert(gw.registry, 'acme', { commonName: 'd:sensor:renew-001' }, 'test')
    const device = await connect(acme({ certPem: current.record.certPem, keyPem: current.keyPem as string }, 'd:acme:sensor:renew-001'))
    const next = keyAndCsr('d:sensor:renew-001')
    const answer = await request(device, next.csrPem)
    assert.equal(answer.topic, CHAIN_TOPIC, answer.payload.slice(0, 300))
    const leaf = new X509Certificate(answer.payload)
    assert.equal(leaf.subject, 'CN=d:sensor:renew-001')
    assert.notEqual(leaf.serialNumber, new X509Certificate(current.record.certPem).serialNumber)
    const record = (await gw.registry.store.list('acme', 'issued')).find(r => r.fingerprint === leaf.fingerprint256.replace(/:/g, '').toLowerCase())
    assert.equal(record?.replaces, current.record.id)
    const audit = await gw.logs.waitFor(l => l.event === 'audit' && l.action === 'cert.renew' && l.replaces === current.record.id)
    assert.equal(audit.actor, 'mqtt:d:sensor:renew-001')
    const renewed = await connect(acme({ certPem: answer.payload, keyPem: next.keyPem }, 'd:acme:sensor:renew-001'))
    assert.equal(renewed.connected, true)
    await gw.logs.waitFor(l => l.event === 'audit' && l.action === 'cert.first-use' && l.replaces === current.record.id)
    await endAll(device, renewed)
  })

  it('answers a renewal asked again before its replacement is used (the answer was lost): a fresh certificate, the unused one revoked; refused once the fresh one connects', async () => {
    const current = await issueClientCert(gw.registry, 'acme', { commonName: 'd:sensor:renew-003' }, 'test')
    const device = await connect(acme({ certPem: current.record.certPem, keyPem: current.keyPem as string }, 'd:acme:sensor:renew-003'))
    const lostKey = keyAndCsr('d:sensor:renew-003')
    const lost = await request(device, lostKey.csrPem)
    assert.equal(lost.topic, CHAIN_TOPIC, lost.payload.slice(0, 300))
    const next = keyAndCsr('d:sensor:renew-003')
    const answer = await request(device, next.csrPem)
    assert.equal(answer.topic, CHAIN_TOPIC, answer.payload.slice(0, 300))
    assert.notEqual(new X509Certificate(answer.payload).serialNumber, new X509Certificate(lost.payload).serialNumber)
    const superseded = await tryConnect(acme({ certPem: lost.payload, keyPem: lostKey.keyPem }, 'd:acme:sensor:renew-003'))
    assert.equal(superseded.outcome === 'connack' ? superseded.returnCode : superseded.outcome, 5, 'the unused replacement is revoked')
    const renewed = await connect(acme({ certPem: answer.payload, keyPem: next.keyPem }, 'd:acme:sensor:renew-003'))
    await gw.logs.waitFor(l => l.event === 'audit' && l.action === 'cert.first-use' && l.replaces === current.record.id)
    // The same clientId took the old certificate's session over: back with it, as a stolen copy would be.
    await endAll(device, renewed)
    const old = await connect(acme({ certPem: current.record.certPem, keyPem: current.keyPem as string }, 'd:acme:sensor:renew-003'))
    assert.equal(errorOf(await request(old, keyAndCsr('d:sensor:renew-003').csrPem)), 'CERTS_ERR_RENEW_ALREADY_REPLACED')
    await endAll(old)
  })

  it('refuses a renewal before the organisation\'s renewal window with renew()\'s code', async () => {
    // globex keeps the default window (the last 30 % of the lifetime): a certificate issued now is too young.
    const current = await issueClientCert(gw.registry, 'globex', { commonName: 'd:sensor:young' }, 'test')
    const device = await connect({ port: gw.port, servername: gw.serverName('globex'), caPem: gw.caOf('globex'), cert: { certPem: current.record.certPem, keyPem: current.keyPem as string }, clientId: 'd:globex:sensor:young' })
    assert.equal(errorOf(await request(device, keyAndCsr('d:sensor:young').csrPem)), 'CERTS_ERR_RENEW_TOO_EARLY')
    await endAll(device)
  })

  it('refuses a device renewing for another CN with renew()\'s code', async () => {
    const current = await issueClientCert(gw.registry, 'acme', { commonName: 'd:sensor:renew-002' }, 'test')
    const device = await connect(acme({ certPem: current.record.certPem, keyPem: current.keyPem as string }, 'd:acme:sensor:renew-002'))
    assert.equal(errorOf(await request(device, keyAndCsr('d:sensor:someone-else').csrPem)), 'CERTS_ERR_RENEW_SUBJECT_MISMATCH')
    assert.equal((await gw.registry.store.list('acme', 'issued')).some(r => r.commonName === 'd:sensor:someone-else'), false)
    await endAll(device)
  })
})
