import assert from 'node:assert/strict'
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import tls from 'node:tls'
import type { MqttClient } from 'mqtt'
import pMap from 'p-map'
import { startTestGateway, type TestGateway } from '../support/gateway.js'
import { closed, connect, endAll, tryConnect, type ClientSpec } from '../support/mqtt-client.js'
import { openssl, opensslCa, opensslClientCert, opensslCrl, opensslCsr, opensslSign, opensslSpkiPin, opensslVerifies } from '../support/openssl.js'
import type { TestCert } from '../support/pki.js'
import { makeTempDir } from '../support/temp-dir.js'
import { runMqgate, showResult, type CliResult } from '../support/mqgate-cli.js'

/**
 * The operator verbs as an operator runs them: `mqgate` is a child process
 * talking HTTPS to the admin API of a gateway running in this process, and
 * what each verb changes is observed by real MQTT clients, real TLS
 * handshakes and the openssl command line.
 */

function assertDone (result: CliResult): void {
  assert.equal(result.status, 0, showResult(result))
  assert.equal(result.stderr, '', showResult(result))
}

function assertRefused (result: CliResult, code: string): void {
  assert.equal(result.status, 1, showResult(result))
  assert.match(result.stderr, new RegExp(`^mqgate: ${code}: `), showResult(result))
}

function assertUsageError (result: CliResult, message: RegExp): void {
  assert.equal(result.status, 2, showResult(result))
  assert.match(result.stderr, message, showResult(result))
  assert.match(result.stderr, /Usage: mqgate /, 'commander shows the verb\'s help after the error')
}

const SERVER_EXTENSIONS = (orgId: string): string =>
  `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:${orgId}.messaging.localhost\n`

describe('mqgate operator verbs (child process against a running gateway)', function () {
  this.timeout(60_000)
  let gw: TestGateway
  let temp: { dir: string, remove: () => Promise<void> }
  let dataDir: string
  const live = new Set<MqttClient>()

  before(async () => {
    gw = await startTestGateway({ orgs: ['cli-ca', 'cli-crl', 'cli-server', 'cli-issue', 'cli-certs', 'cli-gw', 'cli-pin'] })
    temp = await makeTempDir('pki-cli')
    dataDir = path.join(temp.dir, 'cli-data')
    await mkdir(dataDir)
  })
  afterEach(async () => await hangUp(...live))
  after(async () => {
    await gw?.close()
    await temp?.remove()
  })

  /** The CLI run from the temp dir, with an empty data dir, and nothing else set. */
  async function cli (args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
    return await runMqgate(args, { MQGATE_DATA_DIR: dataDir, ...env }, temp.dir)
  }

  /** A verb pointed at the test gateway's admin API, with its token. */
  async function api (args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
    return await cli([...args, '--api', gw.admin.url, '--ca', gw.admin.caFile], { MQGATE_ADMIN_TOKEN: gw.admin.token, ...env })
  }

  /** `--json`, exit 0, and the parsed output. */
  async function apiJson (args: readonly string[]): Promise<any> {
    const result = await api([...args, '--json'])
    assertDone(result)
    return JSON.parse(result.stdout)
  }

  async function dir (name: string): Promise<string> {
    const made = path.join(temp.dir, name)
    await mkdir(made, { recursive: true })
    return made
  }

  const device = (orgId: string, cert: TestCert, clientId: string, caPem = gw.caOf(orgId)): ClientSpec =>
    ({ port: gw.port, servername: gw.serverName(orgId), caPem, cert, clientId })

  async function open (spec: ClientSpec): Promise<MqttClient> {
    const client = await connect(spec)
    live.add(client)
    return client
  }

  async function hangUp (...clients: MqttClient[]): Promise<void> {
    for (const client of clients) live.delete(client)
    await endAll(...clients)
  }

  /** Connects, then disconnects: the device is let in. */
  async function letIn (spec: ClientSpec): Promise<void> {
    await hangUp(await open(spec))
  }

  /** The certificate a fresh TLS handshake with the organisation's SNI is answered with. */
  async function servedCertificate (orgId: string, caPem: string): Promise<X509Certificate> {
    const probe = gw.issue(orgId, 'd:probe:tls')
    return await new Promise((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: gw.port, servername: gw.serverName(orgId), ca: caPem, cert: probe.certPem, key: probe.keyPem }, () => {
        const peer = socket.getPeerX509Certificate()
        socket.destroy()
        if (peer === undefined) reject(new Error('no peer certificate'))
        else resolve(peer)
      })
      socket.once('error', reject)
    })
  }

  describe('organisations', () => {
    it('creates an organisation that org list then shows, and refuses an existing or invalid id', async () => {
      const created = await api(['org', 'create', 'cli-new-org'])
      assertDone(created)
      assert.match(created.stdout, /created organisation cli-new-org: clients connect with SNI cli-new-org\.messaging\.localhost/)
      const listed = await apiJson(['org', 'list'])
      assert.ok(listed.orgs.some((o: any) => o.id === 'cli-new-org'), JSON.stringify(listed))
      assertRefused(await api(['org', 'create', 'cli-new-org']), 'CERTS_ERR_ORG_EXISTS')
      assertRefused(await api(['org', 'create', 'Bad_Name']), 'CERTS_ERR_ORG_INVALID')
      assert.equal((await apiJson(['org', 'list'])).orgs.length, listed.orgs.length)
    })

    it('exits 1 with ADMIN_ERR_UNAUTHORIZED on stderr when the token is wrong', async () => {
      const result = await api(['org', 'list'], { MQGATE_ADMIN_TOKEN: 'wrong' })
      assertRefused(result, 'ADMIN_ERR_UNAUTHORIZED')
      assert.equal(result.stdout, '')
    })
  })

  describe('usage', () => {
    it('exits 2 with the reason on stderr for a missing argument, an unknown option, a missing --cn, a bad --expiring, and --p12 without --password', async () => {
      assertUsageError(await cli(['ca', 'add', 'cli-ca']), /missing required argument 'file'/)
      assertUsageError(await cli(['org', 'list', '--bogus']), /unknown option '--bogus'/)
      assertUsageError(await cli(['cert', 'issue', 'cli-issue']), /--cn is required unless --csr names the identity/)
      assertUsageError(await cli(['cert', 'list', 'cli-issue', '--expiring', 'soon']), /--expiring takes a window such as 30d or 12h/)
      // Against the live API: the check comes before any request, so nothing is issued.
      const p12 = path.join(temp.dir, 'never.p12')
      assertUsageError(await api(['cert', 'issue', 'cli-issue', '--cn', 'd:sensor:no-password', '--p12', p12]), /--p12 needs --password/)
      assert.equal(existsSync(p12), false)
      const issued = await apiJson(['cert', 'list', 'cli-issue'])
      assert.ok(!issued.certificates.some((c: any) => c.common_name === 'd:sensor:no-password'), 'no certificate was issued')
    })

    const VERBS = [
      [], ['org'], ['org', 'create'], ['org', 'list'],
      ['ca'], ['ca', 'add'], ['ca', 'list'], ['ca', 'disable'], ['ca', 'enable'], ['ca', 'remove'], ['ca', 'crl'], ['ca', 'crl-policy'], ['ca', 'ocsp'],
      ['server-cert'], ['server-cert', 'csr'], ['server-cert', 'issue'], ['server-cert', 'upload'], ['server-cert', 'list'], ['server-cert', 'activate'],
      ['cert'], ['cert', 'issue'], ['cert', 'list'], ['cert', 'show'], ['cert', 'revoke'], ['cert', 'restore'],
      ['gateway'], ['gateway', 'devices'], ['pin'], ['registry'], ['registry', 'backup'], ['registry', 'restore']
    ]

    it('prints its usage and exits 0 for --help on every verb and verb group', async () => {
      // Two at a time: 26 Node processes started at once on a loaded 2-core machine outlive the 30 s limit.
      const results = await pMap(VERBS, async verb => ({ verb, result: await cli([...verb, '--help']) }), { concurrency: 2 })
      for (const { verb, result } of results) {
        assert.equal(result.status, 0, `mqgate ${verb.join(' ')} --help: ${showResult(result)}`)
        assert.match(result.stdout, new RegExp(`^Usage: ${['mqgate', ...verb].join(' ')} `), `mqgate ${verb.join(' ')} --help: ${showResult(result)}`)
      }
    })
  })

  describe('ca', () => {
    const caCount = async (): Promise<number> => (await apiJson(['ca', 'list', 'cli-ca'])).cas.length

    it('trusts an added openssl CA without a restart; ca disable refuses its devices, ca enable lets them back', async () => {
      const operator = opensslCa(await dir('ca-line-1'), 'line-1-ca')
      const made = opensslClientCert(operator, 'op-1', 'd:sensor:op-1')
      const spec = device('cli-ca', made, 'd:cli-ca:sensor:op-1')
      assert.notEqual((await tryConnect(spec)).outcome, 'connected', 'not trusted before ca add')

      const added = await api(['ca', 'add', 'cli-ca', operator.certFile, '--description', 'line 1', '--json'])
      assertDone(added)
      const ca = JSON.parse(added.stdout)
      assert.equal(ca.fingerprint_sha256, new X509Certificate(operator.certPem).fingerprint256.replaceAll(':', '').toLowerCase())
      await letIn(spec)

      const disabled = await api(['ca', 'disable', 'cli-ca', ca.id])
      assertDone(disabled)
      assert.match(disabled.stdout, new RegExp(`^disabled ${ca.id}  disabled `))
      assert.notEqual((await tryConnect(spec)).outcome, 'connected')
      assert.equal((await apiJson(['ca', 'list', 'cli-ca'])).cas.find((c: any) => c.id === ca.id).enabled, false)

      assertDone(await api(['ca', 'enable', 'cli-ca', ca.id]))
      await letIn(spec)
      const listed = (await apiJson(['ca', 'list', 'cli-ca'])).cas
      assert.deepEqual(listed.map((c: any) => [c.kind, c.enabled]).sort(), [['managed', true], ['uploaded', true]].sort(), JSON.stringify(listed))
      assert.equal(listed.find((c: any) => c.id === ca.id).description, 'line 1')
    })

    it('exits 1 with CERTS_ERR_NOT_A_CA when the certificate is not a CA, adding nothing', async () => {
      const operator = opensslCa(await dir('ca-not-a-ca'), 'not-a-ca-issuer')
      const leaf = opensslClientCert(operator, 'leaf', 'd:sensor:leaf')
      const before = await caCount()
      assertRefused(await api(['ca', 'add', 'cli-ca', leaf.certFile]), 'CERTS_ERR_NOT_A_CA')
      assert.equal(await caCount(), before)
    })

    it('adds a CA given as a DER file, whose devices then connect', async () => {
      const other = opensslCa(await dir('ca-der'), 'der-ca')
      const derFile = path.join(other.dir, 'der-ca.der')
      openssl(['x509', '-in', other.certFile, '-outform', 'DER', '-out', derFile])
      assert.ok(!readFileSync(derFile).includes('-----BEGIN'), 'the file is DER')
      const before = await caCount()
      const added = await api(['ca', 'add', 'cli-ca', derFile, '--json'])
      assertDone(added)
      assert.equal(JSON.parse(added.stdout).fingerprint_sha256, new X509Certificate(readFileSync(derFile)).fingerprint256.replaceAll(':', '').toLowerCase())
      assert.equal(await caCount(), before + 1)
      await letIn(device('cli-ca', opensslClientCert(other, 'der-dev', 'd:sensor:der-1'), 'd:cli-ca:sensor:der-1'))
    })

    it('loads a CRL with ca crl: its serial is refused at CONNECT while another device of that CA connects', async () => {
      const operator = opensslCa(await dir('ca-crl'), 'crl-ca')
      const revoked = opensslClientCert(operator, 'crl-1', 'd:sensor:crl-1')
      const kept = opensslClientCert(operator, 'crl-2', 'd:sensor:crl-2')
      const ca = await apiJson(['ca', 'add', 'cli-crl', operator.certFile])
      await letIn(device('cli-crl', revoked, 'd:cli-crl:sensor:crl-1'))

      const loaded = await api(['ca', 'crl', 'cli-crl', ca.id, opensslCrl(operator, [revoked.serial]).crlFile])
      assertDone(loaded)
      assert.match(loaded.stdout, /loaded a CRL of 1 revoked serial\(s\)/)
      assert.deepEqual(await tryConnect(device('cli-crl', revoked, 'd:cli-crl:sensor:crl-1')), { outcome: 'connack', returnCode: 5 })
      await letIn(device('cli-crl', kept, 'd:cli-crl:sensor:crl-2'))
    })
  })

  describe('server-cert', () => {
    it('prints a CSR, uploads its openssl-signed certificate as ready, and serves it from the next handshake once activated', async () => {
      const external = opensslCa(await dir('server-ca'), 'public-ca')
      const csr = await api(['server-cert', 'csr', 'cli-server'])
      assertDone(csr)
      const csrPem = /-----BEGIN CERTIFICATE REQUEST-----[\s\S]+?-----END CERTIFICATE REQUEST-----\n/.exec(csr.stdout)?.[0]
      assert.ok(csrPem !== undefined, csr.stdout)
      const id = /# server certificate (\S+) \(pending\)/.exec(csr.stdout)?.[1]
      assert.ok(id !== undefined, csr.stdout)
      const csrFile = path.join(external.dir, 'server.csr')
      writeFileSync(csrFile, csrPem)
      const signed = opensslSign(external, csrFile, 'server-1', SERVER_EXTENSIONS('cli-server'))

      const uploaded = await api(['server-cert', 'upload', 'cli-server', signed.certFile])
      assertDone(uploaded)
      assert.match(uploaded.stdout, new RegExp(`^uploaded server certificate ${id} for cli-server\\.messaging\\.localhost`))
      const ready = (await apiJson(['server-cert', 'list', 'cli-server'])).server_certificates.find((s: any) => s.id === id)
      assert.equal(ready?.status, 'ready')
      assert.equal(ready?.active, false)
      const wanted = new X509Certificate(signed.certPem).fingerprint256
      assert.notEqual((await servedCertificate('cli-server', gw.caOf('cli-server'))).fingerprint256, wanted, 'not served before activation')

      assertDone(await api(['server-cert', 'activate', 'cli-server', id]))
      assert.equal((await servedCertificate('cli-server', external.certPem)).fingerprint256, wanted)
      assert.equal((await apiJson(['server-cert', 'list', 'cli-server'])).server_certificates.find((s: any) => s.id === id)?.active, true)
    })
  })

  describe('cert', () => {
    it('issues with --out: certificate, key (mode 0600, even over an older world-readable file) and ca.pem that openssl verifies and the device connects with', async () => {
      const out = await dir('issued-cli-1')
      writeFileSync(path.join(out, 'd_sensor_cli-1.key'), 'an old key\n', { mode: 0o644 })
      const issued = await api(['cert', 'issue', 'cli-issue', '--cn', 'd:sensor:cli-1', '--out', out])
      assertDone(issued)
      assert.match(issued.stdout, /^issued d:sensor:cli-1: serial [0-9A-Fa-f]+, sha256:[0-9a-f]{64}, until /)
      assert.doesNotMatch(issued.stdout, /PRIVATE KEY/, 'with --out the key goes to the file only')
      const [crt, key, ca] = ['d_sensor_cli-1.crt', 'd_sensor_cli-1.key', 'ca.pem'].map(f => path.join(out, f))
      assert.equal(statSync(key).mode & 0o777, 0o600)
      assert.ok(opensslVerifies(ca, crt))
      await letIn(device('cli-issue', { certPem: readFileSync(crt, 'utf8'), keyPem: readFileSync(key, 'utf8') }, 'd:cli-issue:sensor:cli-1', readFileSync(ca, 'utf8')))
    })

    it('signs an openssl CSR with --csr, writing the certificate and ca.pem but no key', async () => {
      const out = await dir('issued-cli-2')
      const csr = opensslCsr(await dir('csr-cli-2'), 'cli-2', '/CN=d:sensor:cli-2')
      assertDone(await api(['cert', 'issue', 'cli-issue', '--cn', 'd:sensor:cli-2', '--csr', csr.csrFile, '--out', out]))
      assert.equal(existsSync(path.join(out, 'd_sensor_cli-2.key')), false)
      assert.equal(readFileSync(path.join(out, 'ca.pem'), 'utf8'), gw.caOf('cli-issue'))
      assert.ok(opensslVerifies(path.join(out, 'ca.pem'), path.join(out, 'd_sensor_cli-2.crt')))
      await letIn(device('cli-issue', { certPem: readFileSync(path.join(out, 'd_sensor_cli-2.crt'), 'utf8'), keyPem: csr.keyPem }, 'd:cli-issue:sensor:cli-2'))
    })

    it('exits 1 with CERTS_ERR_NAME_INVALID for a CN that names no identity', async () => {
      assertRefused(await api(['cert', 'issue', 'cli-issue', '--cn', 'bad-cn']), 'CERTS_ERR_NAME_INVALID')
    })

    it('writes a PKCS#12 bundle with --p12 that openssl reads with the password', async () => {
      const p12 = path.join(await dir('p12'), 'phone.p12')
      writeFileSync(p12, 'an old bundle', { mode: 0o644 })
      const issued = await apiJson(['cert', 'issue', 'cli-issue', '--cn', 'a:phone', '--p12', p12, '--password', 'secret'])
      assert.equal(statSync(p12).mode & 0o777, 0o600)
      const certs = openssl(['pkcs12', '-in', p12, '-passin', 'pass:secret', '-nokeys'])
      const inBundle = certs.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
      assert.deepEqual(inBundle.map(pem => new X509Certificate(pem).fingerprint256).sort(),
        [issued.certificate, issued.ca_certificate].map((pem: string) => new X509Certificate(pem).fingerprint256).sort())
      const keys = openssl(['pkcs12', '-in', p12, '-passin', 'pass:secret', '-nocerts', '-nodes'])
      const keyPem = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/.exec(keys)?.[0]
      assert.ok(keyPem !== undefined, keys)
      const spki = (k: ReturnType<typeof createPublicKey>): string => k.export({ type: 'spki', format: 'der' }).toString('base64')
      assert.equal(spki(createPublicKey(createPrivateKey(keyPem))), spki(new X509Certificate(issued.certificate).publicKey), 'the bundled key is the certificate\'s')
      assert.throws(() => openssl(['pkcs12', '-in', p12, '-passin', 'pass:wrong', '-nokeys']))
    })

    it('lists, shows by serial and fingerprint, revokes (closing the live session within a second) and restores', async () => {
      const issued = await apiJson(['cert', 'issue', 'cli-certs', '--cn', 'd:sensor:to-revoke'])
      const other = await apiJson(['cert', 'issue', 'cli-certs', '--cn', 'd:sensor:bystander'])
      const listed = (await apiJson(['cert', 'list', 'cli-certs'])).certificates
      assert.deepEqual(listed.map((c: any) => [c.common_name, c.status]), [['d:sensor:to-revoke', 'active'], ['d:sensor:bystander', 'active']])
      for (const ref of [issued.serial_number, issued.fingerprint_sha256]) {
        assert.equal((await apiJson(['cert', 'show', 'cli-certs', ref])).id, issued.id, ref)
      }

      const cert = { certPem: issued.certificate, keyPem: issued.private_key }
      const spec = device('cli-certs', cert, 'd:cli-certs:sensor:to-revoke')
      const client = await open(spec)
      const bystander = await open(device('cli-certs', { certPem: other.certificate, keyPem: other.private_key }, 'd:cli-certs:sensor:bystander'))
      const revoked = await api(['cert', 'revoke', 'cli-certs', issued.serial_number])
      assertDone(revoked)
      assert.match(revoked.stdout, /^d:sensor:to-revoke {2}revoked {2}serial /)
      assert.equal(await closed(client, 1000), true, 'the live session is closed')
      assert.equal(bystander.connected, true, 'other devices stay connected')
      assert.notEqual((await tryConnect(spec)).outcome, 'connected')
      const statuses = (await apiJson(['cert', 'list', 'cli-certs'])).certificates.map((c: any) => [c.common_name, c.status])
      assert.deepEqual(statuses, [['d:sensor:to-revoke', 'revoked'], ['d:sensor:bystander', 'active']])

      assertDone(await api(['cert', 'restore', 'cli-certs', issued.fingerprint_sha256]))
      await letIn(spec)
      assert.equal((await apiJson(['cert', 'show', 'cli-certs', issued.id])).status, 'active')
    })
  })

  describe('gateway devices', () => {
    const A1 = 'iot-2/type/sensor/id/a1/evt/temp/fmt/json'
    const B2 = 'iot-2/type/sensor/id/b2/evt/temp/fmt/json'

    it('limits a gateway to the allowed devices, and lifts the limit when given no --allow', async () => {
      const cert = gw.issue('cli-gw', 'g:gw:hall-1')
      const spec = device('cli-gw', cert, 'g:cli-gw:gw:hall-1')
      const limited = await api(['gateway', 'devices', 'cli-gw', 'gw:hall-1', '--allow', 'sensor:a1'])
      assertDone(limited)
      assert.match(limited.stdout, /^gateway gw:hall-1 may act for: sensor:a1$/m)

      const gateway = await open(spec)
      await gateway.publishAsync(A1, '{"t":21}', { qos: 1 })
      assert.equal(gateway.connected, true)
      gateway.publish(B2, '{"t":22}', { qos: 0 })
      assert.equal(await closed(gateway, 3000), true, 'publishing for a device outside the limit closes the connection')
      await hangUp(gateway)

      const lifted = await api(['gateway', 'devices', 'cli-gw', 'gw:hall-1'])
      assertDone(lifted)
      assert.match(lifted.stdout, /may act for: any device of the organisation/)
      const again = await open(spec)
      await again.publishAsync(B2, '{"t":23}', { qos: 1 })
      assert.equal(again.connected, true)
    })
  })

  describe('pin', () => {
    it('prints the SPKI pin of a certificate file as openssl computes it, and of its key file', async () => {
      const operator = opensslCa(await dir('pin'), 'pin-ca')
      const leaf = opensslClientCert(operator, 'pin-leaf', 'd:sensor:pin')
      const expected = `sha256/${opensslSpkiPin(leaf.certFile)}`
      const byCert = await cli(['pin', leaf.certFile])
      assertDone(byCert)
      assert.equal(byCert.stdout.trim(), expected)
      const keyFile = path.join(operator.dir, 'pin-leaf.key')
      const byKey = await cli(['pin', keyFile])
      assertDone(byKey)
      assert.equal(byKey.stdout.trim(), expected)
    })

    it('returns the pin of the server certificate an organisation serves with pin <org> --json', async () => {
      const served = await servedCertificate('cli-pin', gw.caOf('cli-pin'))
      const servedFile = path.join(await dir('pin-served'), 'served.crt')
      writeFileSync(servedFile, served.toString())
      const pins = await apiJson(['pin', 'cli-pin'])
      assert.equal(pins.active.spki_pin, opensslSpkiPin(servedFile))
      assert.deepEqual(pins.pending, [])
    })
  })
})
