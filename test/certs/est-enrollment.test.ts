import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { adminCaFile, enroll, isCertsError } from '../../certs/index.js'
import { assertExitedZero, cliJson, mqgateCli, runCommand, showResult, type CliResult } from '../support/mqgate-cli.js'
import { ADMIN_TOKEN, startTestStack, type TestStack } from '../support/stack.js'
import { makeTempDir } from '../support/temp-dir.js'

/**
 * Issue 13, enrollment: devices get their certificate over EST (RFC 7030)
 * with a claim certificate or a one-time token, driven the way README's
 * "Enrollment (EST)" section shows: `openssl req`, `curl`, `openssl pkcs7
 * -print_certs`, and the result connecting with mosquitto_pub. The command
 * lines below are README's own (the last test checks they are still there).
 */

// eslint-disable-next-line no-template-curly-in-string -- a shell line, run by sh
const EST_LINE = 'EST=https://demo.messaging.localhost:${MQGATE_API_PORT:-8443}/.well-known/est'
const CLAIM_FLOW = [
  EST_LINE,
  'openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout device.key -subj \'/CN=d:sensor:s-0001\' -outform DER -out device.csr',
  'openssl base64 -in device.csr -out device.b64',
  'curl -sS --cacert ca.pem --cert c_factory-1.crt --key c_factory-1.key -H \'Content-Type: application/pkcs10\' --data-binary @device.b64 -o device.p7 "$EST/simpleenroll"',
  'openssl base64 -d -in device.p7 | openssl pkcs7 -inform DER -print_certs -out device.crt',
  // eslint-disable-next-line no-template-curly-in-string -- a shell line, run by sh
  'mosquitto_pub -h 127.0.0.1 -p "${MQGATE_MQTT_PORT:-8883}" --cafile ca.pem --cert device.crt --key device.key -i d:demo:sensor:s-0001 -q 1 -t iot-2/evt/temp/fmt/json -m \'{"temperature":21.5,"time":"2026-01-01T00:00:00Z"}\''
]
const TOKEN_FLOW = [
  EST_LINE,
  'openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout device.key -subj \'/CN=d:sensor:s-0002\' -outform DER -out device.csr',
  'openssl base64 -in device.csr -out device.b64',
  'curl -sS --cacert ca.pem -u "device:$TOKEN" -H \'Content-Type: application/pkcs10\' --data-binary @device.b64 -o device.p7 "$EST/simpleenroll"',
  'openssl base64 -d -in device.p7 | openssl pkcs7 -inform DER -print_certs -out device.crt'
]
const CACERTS_FLOW = [
  EST_LINE,
  'curl -sS --cacert ca.pem -o cacerts.p7 "$EST/cacerts"',
  'openssl base64 -d -in cacerts.p7 | openssl pkcs7 -inform DER -print_certs -out cacerts.pem'
]
const README_COMMANDS = [
  'mqgate claim create demo factory-1 --types sensor,thermo --max-uses 1000 --out .',
  'mqgate enroll-token create demo --cn d:sensor:s-0002 --ttl 15m',
  ...CLAIM_FLOW, ...TOKEN_FLOW, ...CACERTS_FLOW
]

const TOPIC = 'iot-2/evt/temp/fmt/json'
const READING = '{"temperature":21.5,"time":"2026-01-01T00:00:00Z"}'

describe('EST enrollment with claim certificates and one-time tokens (curl, openssl, mosquitto_pub)', function () {
  this.timeout(60_000)
  let stack: TestStack
  let temp: { dir: string, remove: () => Promise<void> }
  let admin: { url: string, caFile: string, token: string }
  let est = ''

  before(async () => {
    stack = await startTestStack()
    temp = await makeTempDir('est')
    admin = { url: `https://127.0.0.1:${stack.adminPort}`, caFile: adminCaFile(stack.dataDir), token: ADMIN_TOKEN }
    // curl resolves *.localhost to the loopback itself (RFC 6761 6.3): the SNI name picks the organisation.
    est = `https://demo.messaging.localhost:${stack.apiPort}/.well-known/est`
  })
  after(async () => {
    await stack?.close()
    await temp?.remove()
  })

  const cli = async (args: readonly string[]): Promise<CliResult> => await mqgateCli(args, admin)
  const sh = async (lines: readonly string[], env: Record<string, string> = {}, cwd = temp.dir): Promise<CliResult> =>
    await runCommand('sh', ['-ec', lines.join('\n')], { cwd, env: { MQGATE_API_PORT: String(stack.apiPort), MQGATE_MQTT_PORT: String(stack.mqttPort), ...env } })

  /** A fresh key and CSR for `commonName`, posted to simpleenroll with `auth` (curl's options): the HTTP status and the body. */
  async function enrollOver (commonName: string, auth: readonly string[], cwd = temp.dir): Promise<{ status: number, body: string, headers: string }> {
    const name = commonName.replaceAll(':', '_')
    assertExitedZero(await runCommand('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`,
      '-subj', `/CN=${commonName}`, '-outform', 'DER', '-out', `${name}.csr`], { cwd }))
    assertExitedZero(await runCommand('openssl', ['base64', '-in', `${name}.csr`, '-out', `${name}.b64`], { cwd }))
    const run = await runCommand('curl', ['-sS', '--cacert', 'ca.pem', ...auth, '-H', 'Content-Type: application/pkcs10', '--data-binary', `@${name}.b64`,
      '-D', `${name}.headers`, '-o', `${name}.answer`, '-w', '%{http_code}', `${est}/simpleenroll`], { cwd })
    assertExitedZero(run)
    return { status: Number(run.stdout), body: readFileSync(path.join(cwd, `${name}.answer`), 'utf8'), headers: readFileSync(path.join(cwd, `${name}.headers`), 'utf8') }
  }

  function assertRefused (answer: { status: number, body: string }, status: number, code: string): void {
    assert.equal(answer.status, status, answer.body)
    assert.equal(JSON.parse(answer.body).error.code, code, answer.body)
  }

  const claimAuth = (name: string): string[] => ['--cert', `c_${name}.crt`, '--key', `c_${name}.key`]

  async function createClaim (name: string, extra: readonly string[]): Promise<void> {
    assertExitedZero(await cli(['claim', 'create', 'demo', name, ...extra, '--out', temp.dir]))
  }

  async function mosquittoPub (clientId: string, certFile: string, keyFile: string): Promise<CliResult> {
    // Without SNI: the stack's default organisation (demo) answers.
    return await runCommand('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(stack.mqttPort), '--cafile', 'ca.pem', '--cert', certFile, '--key', keyFile,
      '-i', clientId, '-q', '1', '-t', TOPIC, '-m', READING], { cwd: temp.dir, timeoutMs: 20_000 })
  }

  it('enrolls a device with a claim certificate (openssl req, curl, openssl pkcs7), and the new certificate publishes with mosquitto_pub', async () => {
    await createClaim('factory-1', ['--types', 'sensor,thermo', '--max-uses', '1000'])
    const flow = await sh(CLAIM_FLOW)
    assertExitedZero(flow)
    const subject = await runCommand('openssl', ['x509', '-in', 'device.crt', '-noout', '-subject', '-issuer'], { cwd: temp.dir })
    assert.match(subject.stdout, /subject=CN = d:sensor:s-0001/, showResult(subject))
    // The flow's last line published with it: mosquitto_pub -q 1 exits 0 once the PUBACK came (sh -e stops at any failure).
    const audit = stack.logs.find(l => l.action === 'enroll.claim' && l.commonName === 'd:sensor:s-0001')
    assert.equal(audit?.claim, 'factory-1')
    assert.equal(audit?.use, 1)
    const listed = await cliJson(cli, ['cert', 'list', 'demo'])
    assert.ok(listed.certificates.some((c: any) => c.common_name === 'd:sensor:s-0001' && c.status === 'active'), 'the enrolled certificate is on the record')
    const claims = await cliJson(cli, ['claim', 'list', 'demo'])
    assert.deepEqual(claims.claims.map((c: any) => [c.name, c.status, c.uses, c.max_uses]), [['factory-1', 'active', 1, 1000]])
  })

  it('answers a simpleenroll in RFC 7030 4.2.3\'s form: 200, application/pkcs7-mime; smime-type=certs-only, base64', async () => {
    const answer = await enrollOver('d:thermo:s-0003', claimAuth('factory-1'))
    assert.equal(answer.status, 200, answer.body)
    assert.match(answer.headers, /content-type: application\/pkcs7-mime; smime-type=certs-only/i)
    assert.match(answer.headers, /content-transfer-encoding: base64/i)
    assert.match(answer.body, /^[A-Za-z0-9+/=\n]+$/)
  })

  it('refuses the claim certificate at MQTT CONNECT (CONNACK 5) and on /temps (403), each with BROKER_ERR_CLAIM_ONLY_ENROLLS', async () => {
    // A device's clientId: `c:demo:factory-1:<nonce>` is the claim's enrollment session (MQTT enrollment), admitted to publish a CSR only.
    const pub = await mosquittoPub('d:demo:sensor:s-0001', 'c_factory-1.crt', 'c_factory-1.key')
    assert.notEqual(pub.status, 0, showResult(pub))
    assert.match(pub.stderr, /not authori[sz]ed/i, showResult(pub))
    assert.ok(stack.logs.find(l => l.code === 'BROKER_ERR_CLAIM_ONLY_ENROLLS' && l.stage === 'connect'), 'the CONNECT refusal is logged with its code')
    const temps = await runCommand('curl', ['-sS', '--cacert', 'ca.pem', ...claimAuth('factory-1'), '-w', '\n%{http_code}', `https://demo.messaging.localhost:${stack.apiPort}/temps`], { cwd: temp.dir })
    const lines = temps.stdout.split('\n')
    assert.equal(lines.pop(), '403', showResult(temps))
    assert.equal(JSON.parse(lines.join('\n')).error.code, 'BROKER_ERR_CLAIM_ONLY_ENROLLS')
  })

  it('refuses a second enrollment of an enrolled id, and a device type the claim does not list, each with its code', async () => {
    // An identity with an operator-issued certificate: enrolled, though never through EST.
    assertExitedZero(await cli(['cert', 'issue', 'demo', '--cn', 'd:sensor:op-1']))
    assertRefused(await enrollOver('d:sensor:op-1', claimAuth('factory-1')), 409, 'CERTS_ERR_ALREADY_ENROLLED')
    assertRefused(await enrollOver('d:sensor:s-0001', claimAuth('factory-1')), 409, 'CERTS_ERR_ALREADY_ENROLLED')
    assertRefused(await enrollOver('d:camera:c-1', claimAuth('factory-1')), 403, 'CERTS_ERR_CLAIM_TYPE_NOT_ALLOWED')
    assertRefused(await enrollOver('a:dashboard', claimAuth('factory-1')), 403, 'CERTS_ERR_ENROLL_NOT_DEVICE')
    const uses = (await cliJson(cli, ['claim', 'list', 'demo'])).claims.find((c: any) => c.name === 'factory-1').uses
    assert.equal(uses, 2, 'a refused request takes no use')
  })

  it('enrolls an identity an operator revoked again with a token, never with a claim (CERTS_ERR_IDENTITY_REVOKED)', async () => {
    assertExitedZero(await cli(['cert', 'issue', 'demo', '--cn', 'd:sensor:op-2']))
    assertRefused(await enrollOver('d:sensor:op-2', claimAuth('factory-1')), 409, 'CERTS_ERR_ALREADY_ENROLLED')
    const issued = (await cliJson(cli, ['cert', 'list', 'demo'])).certificates.find((c: any) => c.common_name === 'd:sensor:op-2')
    assertExitedZero(await cli(['cert', 'revoke', 'demo', issued.id]))
    // The claim's key is shared by a batch: whoever extracted it must not take back a revoked identity.
    assertRefused(await enrollOver('d:sensor:op-2', claimAuth('factory-1')), 403, 'CERTS_ERR_IDENTITY_REVOKED')
    const token = (await cliJson(cli, ['enroll-token', 'create', 'demo', '--cn', 'd:sensor:op-2'])).token
    assert.equal((await enrollOver('d:sensor:op-2', ['-u', `device:${String(token)}`])).status, 200)
  })

  it('refuses an exhausted claim with CERTS_ERR_CLAIM_EXHAUSTED', async () => {
    await createClaim('batch-2', ['--types', 'sensor', '--max-uses', '1'])
    assert.equal((await enrollOver('d:sensor:b2-1', claimAuth('batch-2'))).status, 200)
    assertRefused(await enrollOver('d:sensor:b2-2', claimAuth('batch-2')), 403, 'CERTS_ERR_CLAIM_EXHAUSTED')
    assert.equal((await cliJson(cli, ['claim', 'list', 'demo'])).claims.find((c: any) => c.name === 'batch-2').status, 'exhausted')
  })

  it('refuses an expired claim with CERTS_ERR_CLAIM_EXPIRED', async () => {
    await createClaim('batch-3', ['--types', 'sensor'])
    const store = stack.running.registry.store
    const claim = await store.get('demo', 'claims', 'batch-3')
    await store.put('demo', 'claims', { ...claim!, expiresAt: new Date(Date.now() - 1000).toISOString() }, { quiet: true })
    assertRefused(await enrollOver('d:sensor:b3-1', claimAuth('batch-3')), 403, 'CERTS_ERR_CLAIM_EXPIRED')
  })

  it('refuses a revoked claim: its certificate at the TLS identity path (BROKER_ERR_CERT_REVOKED), the claim itself in enroll (CERTS_ERR_CLAIM_REVOKED)', async () => {
    await createClaim('batch-4', ['--types', 'sensor'])
    const fingerprint = (await store().get('demo', 'claims', 'batch-4'))!.fingerprint
    assertExitedZero(await cli(['claim', 'revoke', 'demo', 'batch-4']))
    assertRefused(await enrollOver('d:sensor:b4-1', claimAuth('batch-4')), 403, 'BROKER_ERR_CERT_REVOKED')
    assert.equal((await cliJson(cli, ['claim', 'list', 'demo'])).claims.find((c: any) => c.name === 'batch-4').status, 'revoked')
    // What a transport that reached enroll with the claim's certificate (MQTT enrollment, a restored certificate) gets.
    const csr = readFileSync(path.join(temp.dir, 'd_sensor_b4-1.b64'), 'utf8')
    await assert.rejects(enroll(stack.running.registry, 'demo', toPem(csr), { kind: 'claim', claimName: 'batch-4', fingerprint }, 'test'),
      (err: unknown) => isCertsError(err, 'CERTS_ERR_CLAIM_REVOKED'))
  })

  it('refuses a device certificate (BROKER_ERR_NOT_A_CLAIM) and a request without credentials (401, WWW-Authenticate: Basic)', async () => {
    const device = ['--cert', 'device.crt', '--key', 'device.key']
    assertRefused(await enrollOver('d:sensor:s-0009', device), 403, 'BROKER_ERR_NOT_A_CLAIM')
    const none = await enrollOver('d:sensor:s-0009', [])
    assertRefused(none, 401, 'BRIDGE_ERR_EST_UNAUTHORIZED')
    assert.match(none.headers, /www-authenticate: Basic realm="mqgate EST"/i)
  })

  it('enrolls once with a one-time token as the HTTP Basic password, without a client certificate; the same token again is refused', async () => {
    const minted = await cliJson(cli, ['enroll-token', 'create', 'demo', '--cn', 'd:sensor:s-0002', '--ttl', '15m'])
    assert.match(minted.token, /^mqet_[A-Za-z0-9_-]{43}$/)
    const flow = await sh(TOKEN_FLOW, { TOKEN: minted.token })
    assertExitedZero(flow)
    const subject = await runCommand('openssl', ['x509', '-in', 'device.crt', '-noout', '-subject'], { cwd: temp.dir })
    assert.match(subject.stdout, /subject=CN = d:sensor:s-0002/, showResult(subject))
    assertExitedZero(await mosquittoPub('d:demo:sensor:s-0002', 'device.crt', 'device.key'))
    assertRefused(await enrollOver('d:sensor:s-0002', ['-u', `device:${minted.token as string}`]), 401, 'CERTS_ERR_TOKEN_USED')
    assert.ok(!stack.logs.text().includes(minted.token), 'the token is in the log')
    assert.ok(!readFileSync(path.join(stack.dataDir, 'orgs', 'demo', 'enroll-tokens', `${sha256(minted.token)}.json`), 'utf8').includes(minted.token), 'the token is stored')
  })

  it('refuses an expired token, a token bound to another identity, and a token that was never issued', async () => {
    const expired = await cliJson(cli, ['enroll-token', 'create', 'demo', '--cn', 'd:sensor:t-1'])
    const record = await store().get('demo', 'enroll-tokens', sha256(expired.token))
    await store().put('demo', 'enroll-tokens', { ...record!, expiresAt: new Date(Date.now() - 1000).toISOString() }, { quiet: true })
    assertRefused(await enrollOver('d:sensor:t-1', ['-u', `device:${expired.token as string}`]), 401, 'CERTS_ERR_TOKEN_EXPIRED')
    const other = await cliJson(cli, ['enroll-token', 'create', 'demo', '--cn', 'd:sensor:t-2'])
    assertRefused(await enrollOver('d:sensor:t-3', ['-u', `device:${other.token as string}`]), 403, 'CERTS_ERR_TOKEN_CN_MISMATCH')
    // The mismatch burnt nothing: the token still enrolls its own identity.
    assert.equal((await enrollOver('d:sensor:t-2', ['-u', `device:${other.token as string}`])).status, 200)
    assertRefused(await enrollOver('d:sensor:t-4', ['-u', 'device:mqet_' + 'A'.repeat(43)]), 401, 'CERTS_ERR_TOKEN_INVALID')
  })

  it('serves the organisation\'s CA certificates (cacerts, parsed by openssl pkcs7) and no CSR attributes (csrattrs: 204)', async () => {
    assertExitedZero(await sh(CACERTS_FLOW))
    const pem = readFileSync(path.join(temp.dir, 'cacerts.pem'), 'utf8')
    assert.ok(pem.includes(stack.caPem.trim().split('\n')[1]), 'the managed CA is in cacerts')
    const attrs = await runCommand('curl', ['-sS', '--cacert', 'ca.pem', '-o', '/dev/null', '-w', '%{http_code}', `${est}/csrattrs`], { cwd: temp.dir })
    assert.equal(attrs.stdout, '204')
  })

  it('answers claim create, whose answer carries the claim key once, with Cache-Control: no-store', async () => {
    const run = await runCommand('curl', ['-sS', '-D', '-', '-o', '/dev/null', '--cacert', admin.caFile, '-H', `Authorization: Bearer ${admin.token}`,
      '-H', 'Content-Type: application/json', '--data', '{"name":"cached-1","types":["sensor"]}', `${admin.url}/orgs/demo/claims`])
    assertExitedZero(run)
    assert.match(run.stdout, /^HTTP\/1\.1 201/m, showResult(run))
    assert.match(run.stdout, /^cache-control: no-store\r?$/im, showResult(run))
  })

  it('README\'s "Enrollment (EST)" section shows these same commands', () => {
    const readme = readFileSync(path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../README.md'), 'utf8')
    const section = readme.slice(readme.indexOf('## Enrollment (EST)'))
    assert.ok(readme.includes('## Enrollment (EST)'), 'README has the section')
    for (const line of README_COMMANDS) assert.ok(section.includes(line), `README lacks: ${line}`)
  })

  const store = (): TestStack['running']['registry']['store'] => stack.running.registry.store
})

function sha256 (text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

function toPem (base64: string): string {
  return `-----BEGIN CERTIFICATE REQUEST-----\n${base64}-----END CERTIFICATE REQUEST-----\n`
}
