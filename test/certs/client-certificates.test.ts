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
    port: gw.port, servername: gw.serverName('acme'), caPem: gw.caOf('acme'), clientId,
    cert: { certPem: issued.certificate, keyPem: readFileSync(path.join(temp.dir, 'device.key'), 'utf8') }
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
