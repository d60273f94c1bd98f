import assert from 'node:assert/strict'
import { activateServerCert, uploadServerCert } from '../../certs/index.js'
import { runCommand, showResult } from '../support/mqgate-cli.js'
import { mintCa, mintProfiled } from '../support/pki.js'
import { freePort } from '../support/redis-server.js'
import { startTestStack, type TestStack } from '../support/stack.js'

/**
 * Issue 16: mqgate's own TLS listeners staple an OCSP response (RFC 6066 8)
 * for their server certificate when the organisation's managed CA issued it
 * and a responder is published, so that a device checks its server's
 * revocation status without reaching the responder. Asked with openssl
 * s_client -status, as a device's TLS stack asks.
 */
describe('access: OCSP stapling on the TLS listeners', function () {
  this.timeout(60_000)
  let stack: TestStack

  before(async () => {
    stack = await startTestStack({ MQGATE_PKI_HTTP_PORT: String(await freePort()) })
  })
  after(async () => await stack?.close())

  async function statusRequest (port: number): Promise<string> {
    const caFile = stack.writeFile('ca.pem', stack.caPem)
    const run = await runCommand('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'demo.messaging.localhost', '-status', '-CAfile', caFile], { timeoutMs: 20_000 })
    return run.stdout + '\n' + showResult(run)
  }

  for (const [listener, portOf] of [['MQTT', (s: TestStack) => s.mqttPort], ['temps API', (s: TestStack) => s.apiPort]] as const) {
    it(`staples a good, successful response on the ${listener} port`, async () => {
      const output = await statusRequest(portOf(stack))
      assert.match(output, /OCSP Response Status: successful \(0x0\)/, output)
      assert.match(output, /Cert Status: good/, output)
    })
  }

  it('staples nothing for an uploaded server certificate of another CA (not the managed CA\'s to answer for)', async () => {
    const registry = stack.running.registry
    if (registry.get('uploaded') === undefined) await registry.createOrg('uploaded')
    const publicCa = mintCa('A public CA')
    const server = mintProfiled(publicCa, 'server', ['uploaded.messaging.localhost'], { keyType: 'ec' })
    const record = await uploadServerCert(registry, 'uploaded', { certificate: server.certPem, keyPem: server.keyPem }, 'test')
    await activateServerCert(registry, 'uploaded', record.id, 'test')
    const caFile = stack.writeFile('public-ca.pem', publicCa.certPem)
    const run = await runCommand('openssl', ['s_client', '-connect', `127.0.0.1:${stack.mqttPort}`, '-servername', 'uploaded.messaging.localhost', '-status', '-CAfile', caFile], { timeoutMs: 20_000 })
    assert.match(run.stdout, /subject=CN = uploaded\.messaging\.localhost/, showResult(run))
    assert.match(run.stdout, /OCSP response: no response sent/, showResult(run))
  })
})

describe('access: no OCSP stapling without a published responder (MQGATE_OCSP_URL=none)', function () {
  this.timeout(60_000)
  let stack: TestStack

  before(async () => {
    stack = await startTestStack({ MQGATE_PKI_HTTP_PORT: String(await freePort()), MQGATE_OCSP_URL: 'none' })
  })
  after(async () => await stack?.close())

  it('sends no OCSP response on the MQTT port', async () => {
    const caFile = stack.writeFile('ca.pem', stack.caPem)
    const run = await runCommand('openssl', ['s_client', '-connect', `127.0.0.1:${stack.mqttPort}`, '-servername', 'demo.messaging.localhost', '-status', '-CAfile', caFile], { timeoutMs: 20_000 })
    assert.match(run.stdout, /OCSP response: no response sent/, showResult(run))
  })
})
