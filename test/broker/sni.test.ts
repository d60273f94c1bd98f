import assert from 'node:assert/strict'
import { activateServerCert, issueServerCert } from '../../certs/index.js'
import { startTestGateway, type TestGateway } from '../support/gateway.js'
import { connect, endAll, tryConnect } from '../support/mqtt-client.js'
import { servedFingerprint } from '../support/served-cert.js'

describe('broker: SNI selects the organisation', () => {
  let gw: TestGateway

  before(async () => { gw = await startTestGateway({ orgs: ['acme', 'globex'], defaultOrg: 'acme' }) })
  after(async () => await gw.close())

  it('lands a client without SNI in the default organisation', async () => {
    const device = await connect({ port: gw.port, caPem: gw.caOf('acme'), cert: gw.issue('acme', 'd:sensor:no-sni'), clientId: 'd:acme:sensor:no-sni', skipServerNameCheck: true })
    assert.equal(gw.logs.find(l => l.event === 'client.connected' && l.clientId === 'd:acme:sensor:no-sni')?.orgId, 'acme')
    await endAll(device)
  })

  it('lands a name outside <org>.messaging.<domain> in the default organisation', async () => {
    const device = await connect({ port: gw.port, servername: 'gateway.example.com', caPem: gw.caOf('acme'), cert: gw.issue('acme', 'd:sensor:odd-sni'), clientId: 'd:acme:sensor:odd-sni', skipServerNameCheck: true })
    await endAll(device)
  })

  it('matches the SNI name without regard to case', async () => {
    const device = await connect({ port: gw.port, servername: 'GLOBEX.Messaging.LOCALHOST', caPem: gw.caOf('globex'), cert: gw.issue('globex', 'd:sensor:caps'), clientId: 'd:globex:sensor:caps', skipServerNameCheck: true })
    await endAll(device)
  })

  it('still refuses an unknown organisation of the right form', async () => {
    const result = await tryConnect({ port: gw.port, servername: 'initech.messaging.localhost', caPem: gw.caOf('acme'), cert: gw.issue('acme', 'd:sensor:x'), clientId: 'd:acme:sensor:x' })
    assert.equal(result.outcome, 'closed')
    await gw.logs.waitFor(l => l.code === 'BROKER_ERR_TLS_UNKNOWN_ORG')
  })

  it('does not let the default organisation trust another organisation\'s devices', async () => {
    const result = await tryConnect({ port: gw.port, caPem: gw.caOf('acme'), cert: gw.issue('globex', 'd:sensor:g'), clientId: 'd:acme:sensor:g', skipServerNameCheck: true })
    assert.equal(result.outcome, 'closed')
  })

  it('serves a newly activated server certificate from the next handshake, without a restart', async () => {
    const before = await servedFingerprint(gw.port, gw.serverName('globex'), gw.caOf('globex'))
    const record = await activateServerCert(gw.registry, 'globex', (await issueServerCert(gw.registry, 'globex', {}, 'test')).id, 'test')
    const after = await servedFingerprint(gw.port, gw.serverName('globex'), gw.caOf('globex'))
    assert.notEqual(after, before)
    assert.equal(after, record.fingerprint)
    const device = await connect({ port: gw.port, servername: gw.serverName('globex'), caPem: gw.caOf('globex'), cert: gw.issue('globex', 'd:sensor:after-renewal'), clientId: 'd:globex:sensor:after-renewal' })
    await endAll(device)
  })

  it('serves the default organisation\'s new server certificate to clients without SNI', async () => {
    const record = await activateServerCert(gw.registry, 'acme', (await issueServerCert(gw.registry, 'acme', {}, 'test')).id, 'test')
    assert.equal(await servedFingerprint(gw.port, undefined, gw.caOf('acme')), record.fingerprint)
  })

  it('serves an organisation created while running, without a restart', async () => {
    const fresh = await gw.registry.createOrg('initech')
    assert.ok(fresh)
    const device = await connect({ port: gw.port, servername: gw.serverName('initech'), caPem: gw.caOf('initech'), cert: gw.issue('initech', 'd:sensor:new-org'), clientId: 'd:initech:sensor:new-org' })
    await endAll(device)
  })
})
