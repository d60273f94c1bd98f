import assert from 'node:assert/strict'
import { isCertsError, type OrgRegistry } from '../../certs/index.js'
import { OcspSigners } from '../../certs/ocsp/ocsp-signers.js'
import { createLogSink } from '../support/log-sink.js'

/**
 * The delegated OCSP signer is issued by the managed CA on first use. When
 * the CA cannot sign (its key in a PKCS#11 token that is away), every
 * request on the public PKI port would otherwise try again: a new key pair,
 * a signing attempt in the token and an error line per request.
 */
describe('certs: the OCSP signer while the CA cannot sign', function () {
  it('tries to issue it once, then answers the failure without trying again for a while', async () => {
    let attempts = 0
    const state = { org: { id: 'away', managedCaId: 'ca' }, cas: [{ id: 'ca', kind: 'managed' }], revocations: [] }
    const registry = {
      require: () => state,
      signerOf: () => { attempts++; throw new Error('the token is not present') },
      options: {}
    } as unknown as OrgRegistry
    const logs = createLogSink()
    const signers = new OcspSigners(registry, logs.logger)
    for (let i = 0; i < 5; i++) {
      await assert.rejects(signers.current('away'), (err: unknown) => isCertsError(err, 'CERTS_ERR_OCSP_NO_SIGNER'))
    }
    assert.equal(attempts, 1, 'one attempt for five requests in a row')
    assert.equal(logs.lines.filter(l => l.event === 'ocsp.signer-renewal-failed').length, 1, 'one error line for the one attempt')
    // Later on, it is tried again.
    await assert.rejects(signers.current('away', new Date(Date.now() + 60_000)))
    assert.equal(attempts, 2)
  })
})
