import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { setRenewalWindow } from '../../certs/index.js'
import { DEMO_EXTRA_SERVER_NAMES } from '../../certs/bootstrap.js'
import { createClaim } from '../../certs/enrollment/claims.js'
import { startTestGateway, type TestGateway } from '../support/gateway.js'
import { runCommand, showResult } from '../support/mqgate-cli.js'
import { makeTempDir } from '../support/temp-dir.js'

const README = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../README.md')

/** The ```sh blocks of the README's "MQTT-only devices" section, as written there. */
function readmeBlocks (): string[] {
  const text = readFileSync(README, 'utf8')
  const start = text.indexOf('## Enrollment and renewal over MQTT (MQTT-only devices)')
  assert.notEqual(start, -1, 'the README has the section')
  const end = text.indexOf('\n## ', start)
  const section = text.slice(start, end === -1 ? undefined : end)
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map(m => m[1])
}

/**
 * The README's MQTT-only device flow run as pasted, with the command-line
 * clients a device with a shell has (openssl, mosquitto_rr, mosquitto_pub),
 * against the real broker: enrollment with a claim, then renewal.
 */
describe('broker: the README\'s MQTT enrollment commands, with openssl and mosquitto_rr', function () {
  this.timeout(60_000)
  let gw: TestGateway
  let temp: { dir: string, remove: () => Promise<void> }

  before(async () => {
    gw = await startTestGateway({ defaultOrg: 'demo' })
    // As `mqgate start` makes demo: its server certificate names 127.0.0.1 too, which mosquitto's clients check.
    await gw.registry.createOrg('demo', DEMO_EXTRA_SERVER_NAMES)
    temp = await makeTempDir('mqtt-enroll-cli')
    // What `mqgate claim create demo factory --types sensor --out claim` writes.
    const created = await createClaim(gw.registry, 'demo', { name: 'factory', types: ['sensor'] }, 'test')
    mkdirSync(path.join(temp.dir, 'claim'))
    writeFileSync(path.join(temp.dir, 'claim', 'c_factory.crt'), created.issued.record.certPem)
    writeFileSync(path.join(temp.dir, 'claim', 'c_factory.key'), created.issued.keyPem as string, { mode: 0o600 })
    writeFileSync(path.join(temp.dir, 'claim', 'ca.pem'), gw.caOf('demo'))
  })
  after(async () => {
    await gw.close()
    await temp?.remove()
  })

  async function runBlock (block: string): Promise<void> {
    const run = await runCommand('sh', ['-e', '-c', block], { cwd: temp.dir, env: { MQGATE_MQTT_PORT: String(gw.port) }, timeoutMs: 45_000 })
    assert.equal(run.status, 0, showResult(run))
  }

  it('enrolls a device with the claim files, and the device publishes with its new certificate', async () => {
    const [enrollBlock] = readmeBlocks()
    await runBlock(enrollBlock)
    const pem = readFileSync(path.join(temp.dir, 'device.pem'), 'utf8')
    assert.equal(new X509Certificate(pem).subject, 'CN=d:sensor:mqtt-001')
    await gw.logs.waitFor(l => l.event === 'audit' && l.action === 'enroll.claim' && l.commonName === 'd:sensor:mqtt-001')
    await gw.logs.waitFor(l => l.event === 'client.connected' && l.clientId === 'd:demo:sensor:mqtt-001')
  })

  it('renews it with the device\'s own certificate, and the device publishes with the renewed one', async () => {
    await setRenewalWindow(gw.registry, 'demo', 'any', 'test')
    const [, renewBlock] = readmeBlocks()
    await runBlock(renewBlock)
    const renewed = new X509Certificate(readFileSync(path.join(temp.dir, 'device-2.pem'), 'utf8'))
    const first = new X509Certificate(readFileSync(path.join(temp.dir, 'device.pem'), 'utf8'))
    assert.equal(renewed.subject, 'CN=d:sensor:mqtt-001')
    assert.notEqual(renewed.serialNumber, first.serialNumber)
    await gw.logs.waitFor(l => l.event === 'audit' && l.action === 'cert.renew' && l.commonName === 'd:sensor:mqtt-001')
    // mosquitto_pub connected with it: its first use starts the old certificate's retirement.
    await gw.logs.waitFor(l => l.event === 'audit' && l.action === 'cert.first-use' && l.commonName === 'd:sensor:mqtt-001')
  })
})
