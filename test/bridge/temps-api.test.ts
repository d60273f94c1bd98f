import assert from 'node:assert/strict'
import https from 'node:https'
import { issueClientCert, normalizeSerial, readCertificates, revokeCert } from '../../certs/index.js'
import { readCrl } from '../../certs/crl.js'
import { openssl } from '../support/openssl.js'
import { managedCaKeyOf, mintCa, mintClient } from '../support/pki.js'
import { httpsRequest, startTestStack, type HttpAnswer, type TestStack } from '../support/stack.js'

const READING = '{"temperature":36.6,"time":"2020-09-28T02:54:56Z"}'

describe('temps API', () => {
  let stack: TestStack
  let acmeCa: string

  before(async () => {
    stack = await startTestStack({ MQGATE_PROTECTED_HOSTS: 'demo.messaging.localhost,localhost' })
    await stack.running.registry.createOrg('acme')
    acmeCa = stack.running.registry.signerOf('acme').certPem
  })
  after(async () => await stack.close())

  const call = async (options: Omit<Parameters<typeof httpsRequest>[1], 'caPem'> & { caPem?: string }): Promise<HttpAnswer> =>
    await httpsRequest(stack.apiPort, { caPem: stack.caPem, servername: 'demo.messaging.localhost', ...options })

  function assertError (answer: HttpAnswer, status: number, code: string): void {
    assert.equal(answer.status, status, answer.text)
    assert.equal(answer.body?.error?.code, code, answer.text)
    assert.doesNotMatch(answer.text, /at .*\.js:\d+/, 'never a stack trace')
  }

  describe('the seed\'s routes', () => {
    it('answers 201 to a device POSTing a reading with its certificate, as the seed\'s script does', async () => {
      const answer = await call({ method: 'POST', path: '/temps', cert: stack.issue('d:sensor:http-1'), body: READING, headers: { 'content-type': 'application/json' } })
      assert.equal(answer.status, 201)
      assert.deepEqual({ temperature: answer.body.temperature, time: answer.body.time }, JSON.parse(READING))
    })

    it('answers 403 with a JSON error to a request without a client certificate on a protected host', async () => {
      assertError(await call({ method: 'POST', path: '/temps', body: READING }), 403, 'BROKER_ERR_NO_CLIENT_CERT')
      assertError(await call({ path: '/temps' }), 403, 'BROKER_ERR_NO_CLIENT_CERT')
    })

    it('refuses an anonymous caller on a host that is not protected too: every route needs an identity', async () => {
      assertError(await call({ path: '/temps', servername: undefined }), 403, 'BROKER_ERR_NO_CLIENT_CERT')
    })

    it('returns the caller\'s own 5 newest readings, newest first, never another device\'s', async () => {
      const mine = stack.issue('d:sensor:http-mine')
      for (let second = 0; second < 7; second++) {
        const body = JSON.stringify({ temperature: second, time: `2021-01-01T00:00:0${second}Z` })
        assert.equal((await call({ method: 'POST', path: '/temps', cert: mine, body })).status, 201)
      }
      await call({ method: 'POST', path: '/temps', cert: stack.issue('d:sensor:http-other'), body: '{"temperature":99,"time":"2021-01-01T00:00:09Z"}' })
      const answer = await call({ path: '/temps', cert: mine })
      assert.equal(answer.status, 200)
      assert.deepEqual(answer.body.map((r: any) => r.temperature), [6, 5, 4, 3, 2])
    })

    it('identifies a gateway posting its own readings by its certificate too', async () => {
      assert.equal((await call({ method: 'POST', path: '/temps', cert: stack.issue('g:gw:http-gw'), body: READING })).status, 201)
    })

    it('refuses an application on /temps (403): applications name the device', async () => {
      assertError(await call({ method: 'POST', path: '/temps', cert: stack.issue('a:mobile'), body: READING }), 403, 'BRIDGE_ERR_API_FORBIDDEN')
    })
  })

  describe('the device routes', () => {
    it('stores a reading an application posts for a device, and serves the newest N', async () => {
      const app = stack.issue('a:bridge-like')
      const posted = await call({ method: 'POST', path: '/devices/valve/v-9/temps', cert: app, body: JSON.stringify({ temperature: '4.5', time: '2021-02-01T00:00:00Z', device: 'd:demo:valve:v-9' }) })
      assert.equal(posted.status, 201, posted.text)
      const read = await call({ path: '/devices/valve/v-9/temps?limit=1', cert: app })
      assert.deepEqual(read.body.map((r: any) => r.temperature), [4.5])
    })

    it('refuses a device field that names another device', async () => {
      assertError(await call({ method: 'POST', path: '/devices/valve/v-9/temps', cert: stack.issue('a:x'), body: JSON.stringify({ temperature: 1, time: '2021-02-01T00:00:00Z', device: 'd:demo:valve:other' }) }), 400, 'BRIDGE_ERR_API_BAD_REQUEST')
    })

    it('refuses a device certificate on the application routes (403)', async () => {
      assertError(await call({ path: '/devices/valve/v-9/temps', cert: stack.issue('d:sensor:nosy') }), 403, 'BRIDGE_ERR_API_FORBIDDEN')
    })

    it('answers 404 for a device with no readings, and for another organisation\'s device', async () => {
      assertError(await call({ path: '/devices/valve/never/temps', cert: stack.issue('a:x') }), 404, 'BRIDGE_ERR_API_NOT_FOUND')
      const acmeApp = mintClient(managedCaKeyOf(stack.running.registry, 'acme'), 'a:acme-app')
      const acme = await httpsRequest(stack.apiPort, { caPem: acmeCa, servername: 'acme.messaging.localhost', path: '/devices/valve/v-9/temps', cert: acmeApp })
      assertError(acme, 404, 'BRIDGE_ERR_API_NOT_FOUND')
    })

    it('checks limit: 1 to 1000', async () => {
      const app = stack.issue('a:x')
      for (const limit of ['0', '1001', 'abc', '-1', '1.5']) {
        assertError(await call({ path: `/devices/valve/v-9/temps?limit=${limit}`, cert: app }), 400, 'BRIDGE_ERR_API_BAD_REQUEST')
      }
    })
  })

  describe('bad input', () => {
    const cases: Array<{ name: string, body: string | Buffer, code: string }> = [
      { name: 'broken JSON', body: '{"temperature":', code: 'BRIDGE_ERR_PAYLOAD_NOT_JSON' },
      { name: 'invalid UTF-8', body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), code: 'BRIDGE_ERR_PAYLOAD_NOT_JSON' },
      { name: 'a JSON array', body: '[]', code: 'BRIDGE_ERR_PAYLOAD_NOT_OBJECT' },
      { name: 'a temperature that is a word', body: '{"temperature":"hot","time":"2020-09-28T02:54:56Z"}', code: 'BRIDGE_ERR_TEMPERATURE_INVALID' },
      { name: 'a temperature that is a boolean', body: '{"temperature":true,"time":"2020-09-28T02:54:56Z"}', code: 'BRIDGE_ERR_TEMPERATURE_INVALID' },
      { name: 'no time', body: '{"temperature":1}', code: 'BRIDGE_ERR_TIME_INVALID' },
      { name: 'a time without a zone', body: '{"temperature":1,"time":"2020-09-28T02:54:56"}', code: 'BRIDGE_ERR_TIME_INVALID' },
      { name: 'an empty body', body: '', code: 'BRIDGE_ERR_PAYLOAD_NOT_JSON' }
    ]
    for (const c of cases) {
      it(`answers 400 with ${c.code} for ${c.name}`, async () => {
        assertError(await call({ method: 'POST', path: '/temps', cert: stack.issue('d:sensor:bad-input'), body: c.body, headers: { 'content-type': 'application/json' } }), 400, c.code)
      })
    }

    it('answers 413 to a body over 16 KiB', async () => {
      const huge = JSON.stringify({ temperature: 1, time: '2020-09-28T02:54:56Z', pad: 'x'.repeat(17 * 1024) })
      assertError(await call({ method: 'POST', path: '/temps', cert: stack.issue('d:sensor:bad-input'), body: huge, headers: { 'content-type': 'application/json' } }), 413, 'BRIDGE_ERR_API_TOO_LARGE')
    })

    it('answers 404 with a JSON error to unknown routes and methods', async () => {
      const cert = stack.issue('d:sensor:bad-input')
      assertError(await call({ path: '/nothing', cert }), 404, 'BRIDGE_ERR_API_NOT_FOUND')
      assertError(await call({ method: 'DELETE', path: '/temps', cert }), 404, 'BRIDGE_ERR_API_NOT_FOUND')
      assertError(await call({ path: '/devices/a%2Fb/x/temps', cert: stack.issue('a:x') }), 404, 'BRIDGE_ERR_API_NOT_FOUND')
    })

    it('stored none of the refused readings', async () => {
      const answer = await call({ path: '/temps', cert: stack.issue('d:sensor:bad-input') })
      assert.deepEqual(answer.body, [])
    })
  })

  describe('the CRL', () => {
    it('publishes the managed CA\'s CRL to anyone, listing revoked serials, signed so that openssl verifies it', async () => {
      const issued = await issueClientCert(stack.running.registry, 'demo', { commonName: 'd:sensor:crl-listed' }, 'test')
      assert.match(readCertificates(issued.record.certPem)[0].x509.toString(), /BEGIN CERTIFICATE/)
      assert.ok(openssl(['x509', '-noout', '-ext', 'crlDistributionPoints'], { input: issued.record.certPem }).includes('/crl/demo.crl'), 'certificates point to it')
      await revokeCert(stack.running.registry, 'demo', issued.record.id, 'test')
      const answer = await new Promise<{ status: number, body: Buffer, type?: string }>((resolve, reject) => {
        const req = https.request({ host: '127.0.0.1', port: stack.apiPort, path: '/crl/demo.crl', servername: 'demo.messaging.localhost', ca: stack.caPem, checkServerIdentity: () => undefined }, res => {
          const chunks: Buffer[] = []
          res.on('data', c => chunks.push(c))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), type: res.headers['content-type'] }))
        })
        req.on('error', reject)
        req.end()
      })
      assert.equal(answer.status, 200, 'no client certificate needed, even on a protected host')
      assert.equal(answer.type, 'application/pkix-crl')
      const crl = readCrl(answer.body, readCertificates(stack.caPem)[0].x509)
      assert.ok(crl.serials.includes(normalizeSerial(issued.record.serial)), `${issued.record.serial} listed in ${crl.serials.join(',')}`)
      const caFile = stack.writeFile('crl-ca.pem', stack.caPem)
      assert.match(openssl(['crl', '-inform', 'DER', '-CAfile', caFile, '-noout'], { input: answer.body }), /^$/)
    })

    it('answers 404 for an unknown organisation\'s CRL', async () => {
      assertError(await call({ path: '/crl/nobody.crl' }), 404, 'BRIDGE_ERR_API_NOT_FOUND')
    })
  })

  describe('trust per request', () => {
    it('refuses a certificate from a CA the organisation does not trust', async () => {
      const stranger = mintClient(mintCa('Stranger'), 'd:sensor:stranger')
      assertError(await call({ method: 'POST', path: '/temps', cert: stranger, body: READING }), 403, 'BROKER_ERR_CERT_UNTRUSTED')
    })

    it('refuses a revoked certificate, which the TLS handshake still accepts', async () => {
      const issued = await issueClientCert(stack.running.registry, 'demo', { commonName: 'd:sensor:soon-revoked' }, 'test')
      const cert = { certPem: issued.record.certPem, keyPem: issued.keyPem as string }
      assert.equal((await call({ method: 'POST', path: '/temps', cert, body: READING })).status, 201)
      await revokeCert(stack.running.registry, 'demo', issued.record.id, 'test')
      assertError(await call({ method: 'POST', path: '/temps', cert, body: READING }), 403, 'BROKER_ERR_CERT_REVOKED')
    })
  })
})
