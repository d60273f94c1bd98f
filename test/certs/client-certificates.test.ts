import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { AdminClient } from '../../certs/cli/admin-client.js'
import type { AdminApiError } from '../../certs/cli/index.js'
import { managedCaOf } from '../../certs/index.js'
import { startTestGateway, type TestGateway } from '../support/gateway.js'
import { connect, endAll, tryConnect } from '../support/mqtt-client.js'
import { openssl, opensslCsr, opensslVerifies } from '../support/openssl.js'
import { makeTempDir } from '../support/temp-dir.js'

/**
 * Cloudflare's client certificate API on the admin API, driven the way the
 * seed drives Cloudflare's: a CSR made by openssl, its newlines escaped by
 * perl, posted by curl with a bearer token. curl trusts the admin API's own
 * CA through CURL_CA_BUNDLE, so the command line stays the seed's.
 */

const run = promisify(execFile)

/** Every field of Cloudflare's client certificate object (developers.cloudflare.com/api/resources/client_certificates). */
const CLOUDFLARE_FIELDS = ['certificate', 'certificate_authority', 'common_name', 'country', 'csr', 'expires_on', 'fingerprint_sha256', 'id', 'issued_on',
  'location', 'organization', 'organizational_unit', 'serial_number', 'signature', 'ski', 'state', 'status', 'validity_days']

describe('Cloudflare-compatible client certificate routes', function () {
  this.timeout(30_000)
  let gw: TestGateway
  let temp: { dir: string, remove: () => Promise<void> }
  let env: Record<string, string>
  let issued: any

  before(async () => {
    gw = await startTestGateway({ orgs: ['acme'] })
    temp = await makeTempDir('client-certificates')
    env = { TOKEN: gw.admin.token, CURL_CA_BUNDLE: gw.admin.caFile, API: gw.admin.url }
  })
  after(async () => {
    await gw.close()
    await temp.remove()
  })

  /** A shell script in the temp dir, asynchronously: the API it calls runs in this process. */
  async function sh (script: string, extra: Record<string, string> = {}): Promise<string> {
    const { stdout } = await run('sh', ['-c', script], { cwd: temp.dir, env: { ...process.env, ...env, ...extra } })
    return stdout
  }

  /** curl with the token; the HTTP status and the parsed body. */
  async function curl (method: string, route: string, body?: unknown, token = gw.admin.token): Promise<{ status: number, body: any }> {
    const out = await sh(`curl -sS -o answer.json -w '%{http_code}' -X ${method} -H "Authorization: Bearer $T" -H 'Content-Type: application/json' ${body === undefined ? '' : '-d "$BODY"'} "$API$ROUTE"`,
      { T: token, ROUTE: route, BODY: JSON.stringify(body ?? null) })
    return { status: Number(out), body: JSON.parse(readFileSync(path.join(temp.dir, 'answer.json'), 'utf8')) }
  }

  function assertEnvelopeRefusal (answer: { status: number, body: any }, status: number, code: string): void {
    assert.equal(answer.status, status, JSON.stringify(answer.body))
    assert.equal(answer.body.success, false)
    assert.equal(answer.body.result, null)
    assert.deepEqual(answer.body.messages, [])
    assert.equal(answer.body.errors.length, 1)
    assert.equal(answer.body.errors[0].code, code, JSON.stringify(answer.body))
    assert.equal(typeof answer.body.errors[0].message, 'string')
  }

  const device = (clientId: string): Parameters<typeof connect>[0] => ({
    port: gw.port,
    servername: gw.serverName('acme'),
    caPem: gw.caOf('acme'),
    clientId,
    cert: { certPem: issued.certificate, keyPem: readFileSync(path.join(temp.dir, 'device.key'), 'utf8') }
  })

  it('answers the seed\'s own command (openssl CSR, perl-escaped, curl with a bearer token) in Cloudflare\'s envelope with every field', async () => {
    const out = await sh([
      'openssl req -new -newkey rsa:2048 -nodes -keyout device.key -out device.csr -subj \'/C=US/ST=California/L=San Francisco/O=Acme Devices/OU=Line 1/CN=d:sensor:curl-1\' 2>/dev/null',
      'CSR=$(perl -pe \'s/\\n/\\\\n/g\' device.csr)',
      'curl -sS -X POST -H "Authorization: Bearer $TOKEN" -H \'Content-Type: application/json\' -d \'{"validity_days": 3650, "csr": "\'"$CSR"\'"}\' "$API/client/v4/zones/acme/client_certificates"'
    ].join('\n'))
    const answer = JSON.parse(out)
    assert.deepEqual({ success: answer.success, errors: answer.errors, messages: answer.messages }, { success: true, errors: [], messages: [] }, out)
    issued = answer.result
    assert.deepEqual(Object.keys(issued).sort(), CLOUDFLARE_FIELDS)
    const expected = {
      common_name: 'd:sensor:curl-1',
      organization: 'Acme Devices',
      organizational_unit: 'Line 1',
      country: 'US',
      state: 'California',
      location: 'San Francisco',
      validity_days: 3650,
      status: 'active',
      csr: readFileSync(path.join(temp.dir, 'device.csr'), 'utf8')
    }
    assert.deepEqual(Object.fromEntries(Object.keys(expected).map(k => [k, issued[k]])), expected)
    const ca = managedCaOf(gw.registry.require('acme'))
    assert.deepEqual(issued.certificate_authority, { id: ca.id, name: ca.subject.replace(/\n/g, ', ') })

    // The certificate's own facts, as openssl reads them.
    const certFile = path.join(temp.dir, 'device.crt')
    writeFileSync(certFile, issued.certificate)
    writeFileSync(path.join(temp.dir, 'acme-ca.pem'), gw.caOf('acme'))
    assert.ok(opensslVerifies(path.join(temp.dir, 'acme-ca.pem'), certFile))
    const serialHex = openssl(['x509', '-in', certFile, '-noout', '-serial']).trim().replace(/^serial=/, '')
    assert.equal(issued.serial_number, BigInt('0x' + serialHex).toString(10), 'decimal, as Cloudflare writes it')
    assert.match(issued.serial_number, /^[0-9]+$/)
    const fingerprint = openssl(['x509', '-in', certFile, '-noout', '-fingerprint', '-sha256']).trim().replace(/^.*=/, '').replaceAll(':', '').toLowerCase()
    assert.equal(issued.fingerprint_sha256, fingerprint)
    const ski = openssl(['x509', '-in', certFile, '-noout', '-ext', 'subjectKeyIdentifier']).split('\n')[1].trim().replaceAll(':', '').toLowerCase()
    assert.equal(issued.ski, ski)
    const notAfter = new Date(openssl(['x509', '-in', certFile, '-noout', '-enddate']).trim().replace(/^notAfter=/, ''))
    assert.equal(new Date(issued.expires_on).getTime(), notAfter.getTime())
    assert.ok(Math.abs(notAfter.getTime() - Date.now() - 3650 * 86_400_000) < 86_400_000)
    await endAll(await connect(device('d:acme:sensor:curl-1')))
  })

  it('lists (with Cloudflare\'s result_info) and gets by id', async () => {
    const list = await curl('GET', '/client/v4/zones/acme/client_certificates')
    assert.equal(list.status, 200)
    assert.equal(list.body.success, true)
    assert.ok(list.body.result.some((c: any) => c.id === issued.id))
    for (const entry of list.body.result) assert.deepEqual(Object.keys(entry).sort(), CLOUDFLARE_FIELDS)
    assert.deepEqual(list.body.result_info, { page: 1, per_page: 20, count: list.body.result.length, total_count: list.body.result.length, total_pages: 1 })
    const one = await curl('GET', `/client/v4/zones/acme/client_certificates/${issued.id}`)
    assert.equal(one.status, 200)
    assert.deepEqual(one.body.result, issued)
  })

  it('DELETE revokes (the device is refused), PATCH restores (it connects again)', async () => {
    const revoked = await curl('DELETE', `/client/v4/zones/acme/client_certificates/${issued.id}`)
    assert.equal(revoked.status, 200)
    assert.equal(revoked.body.success, true)
    assert.equal(revoked.body.result.status, 'revoked')
    assert.deepEqual(await tryConnect(device('d:acme:sensor:curl-1')), { outcome: 'connack', returnCode: 5 })
    assert.deepEqual((await curl('GET', '/client/v4/zones/acme/client_certificates?status=revoked')).body.result.map((c: any) => c.id), [issued.id])

    const restored = await curl('PATCH', `/client/v4/zones/acme/client_certificates/${issued.id}`)
    assert.equal(restored.status, 200)
    assert.equal(restored.body.result.status, 'active')
    await endAll(await connect(device('d:acme:sensor:curl-1')))
    assert.ok(gw.logs.find(l => l.event === 'audit' && l.action === 'cert.revoke' && l.certId === issued.id))
  })

  it('refuses in the envelope, with mqgate\'s codes: a CSR whose CN is no identity, validity_days 0 and 3651, an unknown org, an unknown id, no token', async () => {
    const good = opensslCsr(temp.dir, 'good', '/CN=d:sensor:curl-2').csrPem
    assertEnvelopeRefusal(await curl('POST', '/client/v4/zones/acme/client_certificates', { csr: opensslCsr(temp.dir, 'bad-cn', '/CN=sensor-2').csrPem, validity_days: 30 }), 400, 'CERTS_ERR_NAME_INVALID')
    assertEnvelopeRefusal(await curl('POST', '/client/v4/zones/acme/client_certificates', { csr: opensslCsr(temp.dir, 'no-cn', '/O=Acme Devices').csrPem, validity_days: 30 }), 400, 'CERTS_ERR_NAME_INVALID')
    assertEnvelopeRefusal(await curl('POST', '/client/v4/zones/acme/client_certificates', { csr: good, validity_days: 0 }), 400, 'CERTS_ERR_DAYS_INVALID')
    assertEnvelopeRefusal(await curl('POST', '/client/v4/zones/acme/client_certificates', { csr: good, validity_days: 3651 }), 400, 'CERTS_ERR_DAYS_INVALID')
    assertEnvelopeRefusal(await curl('POST', '/client/v4/zones/nobody/client_certificates', { csr: good, validity_days: 30 }), 404, 'CERTS_ERR_ORG_NOT_FOUND')
    assertEnvelopeRefusal(await curl('POST', '/client/v4/zones/acme/client_certificates', { csr: good }), 400, 'ADMIN_ERR_BAD_REQUEST')
    assertEnvelopeRefusal(await curl('GET', '/client/v4/zones/acme/client_certificates/00000000-0000-0000-0000-000000000000'), 404, 'CERTS_ERR_CERT_NOT_FOUND')
    assertEnvelopeRefusal(await curl('DELETE', `/client/v4/zones/acme/client_certificates/${issued.fingerprint_sha256}`), 404, 'CERTS_ERR_CERT_NOT_FOUND')
    assertEnvelopeRefusal(await curl('GET', '/client/v4/zones/acme/client_certificates', undefined, 'wrong-token'), 401, 'ADMIN_ERR_UNAUTHORIZED')
    assertEnvelopeRefusal(await curl('GET', '/client/v4/zones/acme/nothing'), 404, 'ADMIN_ERR_NOT_FOUND')
    const listed = (await curl('GET', '/client/v4/zones/acme/client_certificates')).body.result
    assert.ok(!listed.some((c: any) => c.common_name === 'd:sensor:curl-2'), 'nothing was issued by a refused request')
  })

  describe('native route POST /orgs/:org/certs', () => {
    let api: AdminClient
    before(() => { api = new AdminClient({ apiUrl: gw.admin.url, token: gw.admin.token, caPem: gw.admin.caPem }) })

    it('takes validity_days, and the CN from the CSR when none is given', async () => {
      const csr = opensslCsr(temp.dir, 'native', '/O=Acme Devices/CN=d:sensor:native-1').csrPem
      const native = await api.request('POST', '/orgs/acme/certs', { csr, validity_days: 90 })
      assert.equal(native.common_name, 'd:sensor:native-1')
      assert.equal(native.validity_days, 90)
    })

    it('refuses a CSR whose CN is no identity, and a CSR without a CN when no cn is given', async () => {
      for (const subject of ['/CN=sensor-1', '/O=Acme Devices']) {
        const csr = opensslCsr(temp.dir, 'native-bad', subject).csrPem
        await assert.rejects(api.request('POST', '/orgs/acme/certs', { csr, validity_days: 90 }), (err: AdminApiError) => {
          assert.equal(err.code, 'CERTS_ERR_NAME_INVALID', subject)
          return true
        })
      }
    })
  })
})
