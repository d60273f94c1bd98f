import assert from 'node:assert/strict'
import { consoleRequest, consoleSignIn, sessionCookieOf, type ConsoleAnswer } from '../support/console-http.js'
import { startTestGateway, type TestGateway } from '../support/gateway.js'
import { httpsRequest, type HttpAnswer } from '../support/stack.js'

/**
 * What a script, not the console's own forms, may send to the console's
 * routes (issue 14): a field given twice (an array once parsed), a JSON body
 * with numbers or objects for text, no body at all with the CSRF token in its
 * header, a repeated query parameter. Each is refused with a 4xx and its code,
 * nothing is logged as a 500, and a refused issue issues nothing: a
 * certificate whose generated key cannot be handed over would be lost.
 */
describe('web console: unexpected form input', function () {
  this.timeout(60_000)
  let gateway: TestGateway
  let cookie: string
  let csrf: string

  const adminCall = async (method: string, path: string, body?: unknown): Promise<HttpAnswer> => await httpsRequest(gateway.admin.port, {
    method,
    path,
    caPem: gateway.admin.caPem,
    headers: { authorization: `Bearer ${gateway.admin.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const form = async (path: string, fields: string): Promise<ConsoleAnswer> =>
    await consoleRequest(gateway.admin.port, gateway.admin.caPem, 'POST', path, { cookie, 'content-type': 'application/x-www-form-urlencoded' }, `_csrf=${encodeURIComponent(csrf)}&${fields}`)
  const json = async (path: string, body: unknown): Promise<ConsoleAnswer> =>
    await consoleRequest(gateway.admin.port, gateway.admin.caPem, 'POST', path, { cookie, 'content-type': 'application/json', 'x-csrf-token': csrf }, JSON.stringify(body))
  const bodyless = async (path: string): Promise<ConsoleAnswer> =>
    await consoleRequest(gateway.admin.port, gateway.admin.caPem, 'POST', path, { cookie, 'x-csrf-token': csrf })
  const get = async (path: string): Promise<ConsoleAnswer> => await consoleRequest(gateway.admin.port, gateway.admin.caPem, 'GET', path, { cookie })
  const refusedWith = (answer: ConsoleAnswer, code: string): void => {
    assert.ok(answer.status >= 400 && answer.status < 500, `answered ${answer.status}: ${answer.text.slice(0, 300)}`)
    assert.match(answer.text, new RegExp(`class="code">${code}<`))
  }
  const noFailures = (): void => {
    const failed = gateway.logs.lines.filter(l => l.level >= 50)
    assert.deepEqual(failed.map(l => `${String(l.event)} ${String(l.url)} ${String(l.err?.message)}`), [])
  }
  const issued = async (): Promise<string[]> => (await adminCall('GET', '/orgs/acme/certs')).body.certificates.map((c: any) => c.common_name)

  before(async () => {
    gateway = await startTestGateway({ orgs: ['acme'] })
    const created = await adminCall('POST', '/operators', { name: 'acme-admin', role: 'org-admin', orgs: ['acme'] })
    assert.equal(created.status, 201)
    cookie = sessionCookieOf(await consoleSignIn(gateway.admin.port, gateway.admin.caPem, created.body.token))
    csrf = /name="_csrf" value="([^"]+)"/.exec((await get('/console/orgs/acme/device-certs')).text)?.[1] ?? ''
    assert.notEqual(csrf, '')
  })
  after(async () => await gateway?.close())

  it('refuses a PKCS#12 issue with the password given twice before issuing anything (the key would have been lost)', async () => {
    refusedWith(await form('/console/orgs/acme/device-certs', 'cn=d:sensor:pp&key_format=p12&password=a&password=b'), 'ADMIN_ERR_BAD_REQUEST')
    refusedWith(await form('/console/orgs/acme/device-certs', 'cn=d:sensor:fmt&key_format=zip&password=a'), 'ADMIN_ERR_BAD_REQUEST')
    assert.deepEqual(await issued(), [])
    // The organisation's own server certificate is issued at its creation; no device certificate since.
    assert.deepEqual((await adminCall('GET', '/orgs/acme/audit?action=cert.issue')).body.entries.filter((e: any) => e.kind !== 'server'), [])
    noFailures()
  })

  it('refuses a field given twice on every form', async () => {
    refusedWith(await form('/console/orgs/acme/device-certs', 'cn=d:sensor:a&cn=d:sensor:b'), 'ADMIN_ERR_BAD_REQUEST')
    refusedWith(await form('/console/orgs/acme/server-certs', 'certificate=a&certificate=b'), 'ADMIN_ERR_BAD_REQUEST')
    refusedWith(await form('/console/orgs/acme/server-certs/csr', 'sans=a&sans=b'), 'ADMIN_ERR_BAD_REQUEST')
    refusedWith(await form('/console/orgs/acme/cas', 'certificate=a&certificate=b'), 'ADMIN_ERR_BAD_REQUEST')
    refusedWith(await form('/console/orgs/acme/claims', 'name=a&name=b&types=sensor'), 'ADMIN_ERR_BAD_REQUEST')
    refusedWith(await form('/console/orgs/acme/enroll-tokens', 'cn=d:sensor:a&cn=d:sensor:b'), 'ADMIN_ERR_BAD_REQUEST')
    refusedWith(await form('/console/orgs/acme/gateways/g:hub:1/devices', 'allow=a:1&allow=a:2'), 'ADMIN_ERR_BAD_REQUEST')
    assert.deepEqual(await issued(), [])
    noFailures()
  })

  it('refuses JSON bodies whose fields are not text', async () => {
    refusedWith(await json('/console/orgs/acme/claims', { name: 5, types: ['sensor'] }), 'ADMIN_ERR_BAD_REQUEST')
    refusedWith(await json('/console/orgs/acme/cas', { certificate: { pem: 'x' } }), 'ADMIN_ERR_BAD_REQUEST')
    refusedWith(await json('/console/orgs/acme/cas/preview', { certificate: 1 }), 'ADMIN_ERR_BAD_REQUEST')
    refusedWith(await json('/console/orgs/acme/gateways/g:hub:1/devices', { allow: 5 }), 'ADMIN_ERR_BAD_REQUEST')
    refusedWith(await json('/console/orgs/acme/device-certs', ['cn', 'd:sensor:x']), 'ADMIN_ERR_BAD_REQUEST')
    noFailures()
  })

  it('answers a change with no body at all (the CSRF token in its header) with the API\'s refusal, not a failure', async () => {
    const ca = (await adminCall('GET', '/orgs/acme/cas')).body.cas[0]
    for (const path of ['/console/orgs/acme/cas', `/console/orgs/acme/cas/${encodeURIComponent(ca.id as string)}/crl`, '/console/orgs/acme/claims', '/console/orgs/acme/server-certs']) {
      const answer = await bodyless(path)
      assert.ok(answer.status >= 400 && answer.status < 500, `${path} answered ${answer.status}`)
      assert.match(answer.text, /class="code">[A-Z_]+</)
    }
    const preview = await bodyless('/console/orgs/acme/cas/preview')
    assert.ok(preview.status < 500, `the preview answered ${preview.status}`)
    assert.match(preview.text, /class="code">[A-Z_]+</)
    noFailures()
  })

  it('refuses a query parameter given twice on the pages that read one', async () => {
    refusedWith(await get('/console/orgs/acme/device-certs?q=a&q=b'), 'ADMIN_ERR_BAD_REQUEST')
    refusedWith(await get('/console/orgs/acme/gateways?gateway=a&gateway=b'), 'ADMIN_ERR_BAD_REQUEST')
    refusedWith(await get('/console/orgs/acme/audit?action=a&action=b'), 'ADMIN_ERR_BAD_REQUEST')
    noFailures()
  })
})
