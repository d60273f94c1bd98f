import assert from 'node:assert/strict'
import { X509Certificate, createPublicKey } from 'node:crypto'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { adminCaFile } from '../../certs/index.js'
import { assertExitedZero, cliJson, mqgateCli, runCommand, runMqgate, showResult, type CliResult } from '../support/mqgate-cli.js'
import { ADMIN_TOKEN, startTestStack, within, type TestStack } from '../support/stack.js'
import { makeTempDir } from '../support/temp-dir.js'

/**
 * `mqgate enroll` and `mqgate renew`, the reference EST client (issue 13,
 * "Device side"), against a real mqgate: the key is made on the device and
 * written 0600 beside the certificate; what it writes connects with
 * mosquitto_pub; a refusal exits 1 with the server's code.
 */
describe('mqgate enroll and mqgate renew (the device-side EST client)', function () {
  this.timeout(60_000)
  let stack: TestStack
  let temp: { dir: string, remove: () => Promise<void> }
  let admin: { url: string, caFile: string, token: string }
  let est = ''

  before(async () => {
    stack = await startTestStack()
    temp = await makeTempDir('enroll-client')
    admin = { url: `https://127.0.0.1:${stack.adminPort}`, caFile: adminCaFile(stack.dataDir), token: ADMIN_TOKEN }
    // *.localhost is the loopback (RFC 6761 6.3); the name picks the organisation by SNI.
    est = `https://demo.messaging.localhost:${stack.apiPort}`
    assertExitedZero(await cli(['claim', 'create', 'demo', 'line-7', '--types', 'sensor', '--out', temp.dir]))
  })
  after(async () => {
    await stack?.close()
    await temp?.remove()
  })

  const cli = async (args: readonly string[]): Promise<CliResult> => await mqgateCli(args, admin)
  const device = async (args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> => await runMqgate(args, env, temp.dir)
  const file = (name: string): string => path.join(temp.dir, name)

  async function publishes (name: string, clientId: string): Promise<CliResult> {
    return await runCommand('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(stack.mqttPort), '--cafile', 'ca.pem', '--cert', `${name}.crt`, '--key', `${name}.key`,
      '-i', clientId, '-q', '1', '-t', 'iot-2/evt/temp/fmt/json', '-m', '{"temperature":20,"time":"2026-01-01T00:00:00Z"}'], { cwd: temp.dir, timeoutMs: 20_000 })
  }

  function assertPair (name: string, commonName: string): X509Certificate {
    const cert = new X509Certificate(readFileSync(file(`${name}.crt`)))
    assert.equal(cert.subject, `CN=${commonName}`)
    assert.equal(statSync(file(`${name}.key`)).mode & 0o777, 0o600, 'the key is readable by its owner only')
    const key = createPublicKey(readFileSync(file(`${name}.key`), 'utf8')).export({ type: 'spki', format: 'der' })
    assert.deepEqual(cert.publicKey.export({ type: 'spki', format: 'der' }), key, 'the certificate is for the key made here')
    return cert
  }

  it('claim create --out writes the claim key 0600 even over an existing, world-readable file of that name', async () => {
    writeFileSync(file('c_line-8.key'), 'an old key\n', { mode: 0o644 })
    assertExitedZero(await cli(['claim', 'create', 'demo', 'line-8', '--types', 'sensor', '--out', temp.dir]))
    assert.match(readFileSync(file('c_line-8.key'), 'utf8'), /PRIVATE KEY/)
    assert.equal(statSync(file('c_line-8.key')).mode & 0o777, 0o600, 'the claim key is readable by its owner only')
  })

  it('enrolls with a claim certificate: writes <name>.crt and <name>.key (0600), and mosquitto_pub connects with them', async () => {
    const run = await device(['enroll', '--est', est, '--ca', 'ca.pem', '--claim', 'c_line-7.crt', '--claim-key', 'c_line-7.key', '--cn', 'd:sensor:e-1', '--out', '.'])
    assertExitedZero(run)
    assert.match(run.stdout, /enrolled d:sensor:e-1: serial [0-9A-F]+/)
    assertPair('d_sensor_e-1', 'd:sensor:e-1')
    assertExitedZero(await publishes('d_sensor_e-1', 'd:demo:sensor:e-1'))
  })

  it('enrolls with a one-time token from a file, and the same token again exits 1 with the server\'s code', async () => {
    const token = (await cliJson(cli, ['enroll-token', 'create', 'demo', '--cn', 'd:sensor:e-2'])).token
    writeFileSync(file('token'), `${String(token)}\n`, { mode: 0o600 })
    const run = await device(['enroll', '--est', est, '--ca', 'ca.pem', '--token-file', 'token', '--cn', 'd:sensor:e-2', '--out', 'tok', '--json'])
    assertExitedZero(run)
    assert.equal(JSON.parse(run.stdout).common_name, 'd:sensor:e-2')
    assertPair('tok/d_sensor_e-2', 'd:sensor:e-2')
    const again = await device(['enroll', '--est', est, '--ca', 'ca.pem', '--cn', 'd:sensor:e-2', '--out', 'tok2'], { MQGATE_ENROLL_TOKEN: String(token) })
    assert.equal(again.status, 1, showResult(again))
    assert.match(again.stderr, /^mqgate: EST_ERR_REFUSED: HTTP 4\d\d CERTS_ERR_TOKEN_USED/, showResult(again))
    assert.ok(!again.stderr.includes(String(token)), 'the token is not repeated in the error')
  })

  it('renews with the current certificate: a new key and certificate in place, the pair replaced kept as .previous, and the new one connects', async () => {
    assertExitedZero(await cli(['org', 'renewal', 'demo', '--window', 'any']))
    const before = new X509Certificate(readFileSync(file('d_sensor_e-1.crt')))
    const oldKey = readFileSync(file('d_sensor_e-1.key'), 'utf8')
    const run = await device(['renew', '--est', est, '--ca', 'ca.pem', '--cert', 'd_sensor_e-1.crt', '--key', 'd_sensor_e-1.key', '--out', '.'])
    assertExitedZero(run)
    assert.match(run.stdout, /renewed d:sensor:e-1/)
    const after = assertPair('d_sensor_e-1', 'd:sensor:e-1')
    assert.notEqual(after.serialNumber, before.serialNumber)
    assert.notEqual(readFileSync(file('d_sensor_e-1.key'), 'utf8'), oldKey, 'a new key')
    assert.equal(new X509Certificate(readFileSync(file('d_sensor_e-1.previous.crt'))).serialNumber, before.serialNumber)
    assert.equal(readFileSync(file('d_sensor_e-1.previous.key'), 'utf8'), oldKey)
    const listed = await cliJson(cli, ['cert', 'list', 'demo'])
    const renewed = listed.certificates.find((c: any) => c.serial_number === after.serialNumber)
    assert.ok(renewed?.replaces !== undefined, 'the new certificate names the one it replaces')
    assertExitedZero(await publishes('d_sensor_e-1', 'd:demo:sensor:e-1'))
    // The first use is recorded after the CONNACK, not with it: until then a renewal with the old certificate is a retry (renewal-retry.ts).
    const original = listed.certificates.find((c: any) => c.serial_number === before.serialNumber)
    await within(10_000, async () => stack.running.registry.require('demo').renewals?.find(r => r.id === original.id)?.firstUsedAt)
    // Renewing the replaced certificate again is refused: the server's code comes through.
    const again = await device(['renew', '--est', est, '--ca', 'ca.pem', '--cert', 'd_sensor_e-1.previous.crt', '--key', 'd_sensor_e-1.previous.key', '--out', 'again'])
    assert.equal(again.status, 1, showResult(again))
    assert.match(again.stderr, /^mqgate: EST_ERR_REFUSED: HTTP 409 CERTS_ERR_RENEW_ALREADY_REPLACED/, showResult(again))
  })

  it('exits 1 with EST_ERR_UNREACHABLE when the EST server\'s certificate is not verified by --ca', async () => {
    const run = await device(['enroll', '--est', est, '--ca', adminCaFile(stack.dataDir), '--claim', 'c_line-7.crt', '--claim-key', 'c_line-7.key', '--cn', 'd:sensor:e-3', '--out', 'x'])
    assert.equal(run.status, 1, showResult(run))
    assert.match(run.stderr, /^mqgate: EST_ERR_UNREACHABLE: .*certificate/, showResult(run))
  })

  it('is a usage error (exit 2) with both a claim and a token, or neither', async () => {
    const both = await device(['enroll', '--est', est, '--ca', 'ca.pem', '--claim', 'c_line-7.crt', '--claim-key', 'c_line-7.key', '--cn', 'd:sensor:e-4', '--out', 'x'], { MQGATE_ENROLL_TOKEN: 'mqg_x' })
    assert.equal(both.status, 2, showResult(both))
    const neither = await device(['enroll', '--est', est, '--ca', 'ca.pem', '--cn', 'd:sensor:e-4', '--out', 'x'])
    assert.equal(neither.status, 2, showResult(neither))
  })
})
