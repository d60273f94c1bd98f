import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { issueClientCert, setRenewalWindow } from '../../certs/index.js'
import { moveCaKeyToToken } from '../../certs/ca-key-move.js'
import { assertExitedZero, runCommand } from '../support/mqgate-cli.js'
import { httpsRequest, startTestStack, type TestStack } from '../support/stack.js'
import { makeTempDir } from '../support/temp-dir.js'

/**
 * After `org ca-key move-to` the old managed CA is a trust anchor only, and
 * the README tells operators to re-issue its certificates under the new CA:
 * the devices it signed are still mqgate's (on the record, revocable), so
 * simplereenroll is how they move, with no operator action per device.
 */

const MODULE = '/usr/lib/softhsm/libsofthsm2.so'
const PIN = '5678'

describe('EST renewal of a certificate signed by a managed CA since moved into a token', function () {
  this.timeout(120_000)
  let stack: TestStack
  let token: { dir: string, remove: () => Promise<void> }
  const savedConf = process.env.SOFTHSM2_CONF

  before(async function () {
    if (spawnSync('softhsm2-util', ['--version']).status !== 0) this.skip() // softhsm2-util is absent: install Debian's softhsm2 to run this
    token = await makeTempDir('softhsm-renew')
    const conf = path.join(token.dir, 'softhsm2.conf')
    writeFileSync(conf, `directories.tokendir = ${token.dir}\nobjectstore.backend = file\nlog.level = ERROR\n`)
    execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 't', '--so-pin', '1234', '--pin', PIN], { env: { ...process.env, SOFTHSM2_CONF: conf }, stdio: 'pipe' })
    // The stack runs in this process: SoftHSM reads its configuration from this environment.
    process.env.SOFTHSM2_CONF = conf
    stack = await startTestStack({ SOFTHSM2_CONF: conf, MQGATE_PKCS11_MODULE: MODULE, MQGATE_PKCS11_PIN: PIN })
  })
  after(async () => {
    await stack?.close()
    if (savedConf === undefined) delete process.env.SOFTHSM2_CONF
    else process.env.SOFTHSM2_CONF = savedConf
    await token?.remove()
  })

  it('renews a device certificate of the retired CA: the new one is signed by the CA in the token', async () => {
    const registry = stack.running.registry
    const old = await issueClientCert(registry, 'demo', { commonName: 'd:sensor:moved-1' }, 'test')
    const moved = await moveCaKeyToToken(registry, 'demo', 'pkcs11:token=t;object=renew-ca', 'test', 'p256')
    await setRenewalWindow(registry, 'demo', 'any', 'test')
    assertExitedZero(await runCommand('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'new.key', '-subj', '/CN=d:sensor:moved-1', '-outform', 'DER', '-out', 'new.csr'], { cwd: token.dir }))
    const answer = await httpsRequest(stack.apiPort, {
      method: 'POST',
      path: '/.well-known/est/simplereenroll',
      caPem: stack.caPem,
      servername: 'demo.messaging.localhost',
      cert: { certPem: old.record.certPem, keyPem: old.keyPem as string },
      headers: { 'content-type': 'application/pkcs10' },
      body: readFileSync(path.join(token.dir, 'new.csr')).toString('base64')
    })
    assert.equal(answer.status, 200, answer.text)
    const renewed = (await registry.store.list('demo', 'issued')).find(r => r.replaces === old.record.id)
    assert.equal(renewed?.caId, moved.org.managedCaId, 'signed by the CA in the token')
  })
})
