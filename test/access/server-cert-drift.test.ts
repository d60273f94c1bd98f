import assert from 'node:assert/strict'
import { activateServerCert, issueServerCert } from '../../certs/index.js'
import { servedFingerprint } from '../support/served-cert.js'
import { startTestStack, type TestStack } from '../support/stack.js'

/**
 * Issue 12: every device-facing listener follows the one TLS front. After
 * `server-cert activate` for the default organisation, a client without SNI
 * (the `curl` line `mqgate start` prints is one) must get the new certificate
 * on the MQTT port and on the temps API alike, without a restart.
 */
describe('access: one TLS front for every listener', function () {
  this.timeout(60_000)
  let stack: TestStack

  before(async () => { stack = await startTestStack() })
  after(async () => await stack.close())

  it('serves the default organisation\'s newly activated server certificate to clients without SNI on both ports', async () => {
    const registry = stack.running.registry
    const before = await servedFingerprint(stack.apiPort, undefined, stack.caPem)
    assert.equal(await servedFingerprint(stack.mqttPort, undefined, stack.caPem), before, 'both ports start with the same certificate')
    const issued = await issueServerCert(registry, 'demo', {}, 'test')
    const record = await activateServerCert(registry, 'demo', issued.id, 'test')
    assert.notEqual(record.fingerprint, before)
    assert.equal(await servedFingerprint(stack.mqttPort, undefined, stack.caPem), record.fingerprint, 'MQTT over TLS')
    assert.equal(await servedFingerprint(stack.apiPort, undefined, stack.caPem), record.fingerprint, 'temps API')
  })
})
