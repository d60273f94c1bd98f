import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import tls from 'node:tls'
import forge from 'node-forge'
import { createCsr, generateKeyPair, readCertificates } from '../../certs/index.js'
import { AdminApiError } from '../../certs/cli/index.js'
import { AdminClient } from '../../certs/cli/admin-client.js'
import { startTestGateway, type TestGateway } from '../support/gateway.js'
import { closed, connect, endAll, tryConnect } from '../support/mqtt-client.js'
import { DAYS, mintCa, mintClient, type TestCert } from '../support/pki.js'
import { openssl, opensslCa, opensslClientCert, opensslCrl, opensslCsr, opensslSign, opensslSpkiPin, opensslVerifies, type OpensslCa } from '../support/openssl.js'
import { makeTempDir } from '../support/temp-dir.js'

/** Every response body this test saw, to check that no private key leaks. */
const responses: Array<{ route: string, body: unknown }> = []

describe('admin API', () => {
  let gw: TestGateway
  let api: Pick<AdminClient, 'request'>
  let temp: { dir: string, remove: () => Promise<void> }

  before(async () => {
    gw = await startTestGateway({ orgs: ['acme'] })
    temp = await makeTempDir('admin-api')
    const client = new AdminClient({ apiUrl: gw.admin.url, token: gw.admin.token, caPem: gw.admin.caPem, operator: 'tester' })
    api = {
      request: async (method: string, route: string, body?: unknown) => {
        const result = await client.request(method, route, body)
        responses.push({ route: `${method} ${route}`, body: result })
        return result
      }
    }
  })
  after(async () => {
    await gw.close()
    await temp.remove()
  })

  async function refusal (method: string, route: string, body: unknown, status: number, code: string): Promise<void> {
    await assert.rejects(api.request(method, route, body), (err: AdminApiError) => {
      assert.equal(err.code, code)
      assert.equal(err.status, status)
      return true
    })
  }

  const device = (orgId: string, cert: TestCert, clientId: string): Parameters<typeof connect>[0] =>
    ({ port: gw.port, servername: gw.serverName(orgId), caPem: gw.caOf(orgId), cert, clientId })

  describe('authentication', () => {
    it('refuses a request without a token (401)', async () => {
      const anonymous = new AdminClient({ apiUrl: gw.admin.url, caPem: gw.admin.caPem })
      await assert.rejects(anonymous.request('GET', '/orgs'), { status: 401, code: 'ADMIN_ERR_UNAUTHORIZED' })
    })

    it('refuses a wrong token (401) and logs it', async () => {
      const wrong = new AdminClient({ apiUrl: gw.admin.url, token: gw.admin.token + 'x', caPem: gw.admin.caPem })
      await assert.rejects(wrong.request('GET', '/orgs'), { status: 401, code: 'ADMIN_ERR_UNAUTHORIZED' })
      assert.ok(gw.logs.find(l => l.event === 'admin.unauthorized'))
    })

    it('answers an unknown route with 404 and a JSON error', async () => {
      await refusal('GET', '/nothing-here', undefined, 404, 'ADMIN_ERR_NOT_FOUND')
    })
  })

  describe('organisations', () => {
    it('creates an organisation and lists it', async () => {
      const created = await api.request('POST', '/orgs', { id: 'initech' })
      assert.equal(created.server_name, 'initech.messaging.localhost')
      const { orgs } = await api.request('GET', '/orgs')
      assert.deepEqual(orgs.map((o: any) => o.id).filter((id: string) => id !== 'globex'), ['acme', 'initech'])
    })

    it('refuses an existing organisation (409) and a malformed id (400)', async () => {
      await refusal('POST', '/orgs', { id: 'acme' }, 409, 'CERTS_ERR_ORG_EXISTS')
      await refusal('POST', '/orgs', { id: 'Not_A_Label' }, 400, 'CERTS_ERR_ORG_INVALID')
      await refusal('POST', '/orgs', { id: 'x', extra: 1 }, 400, 'ADMIN_ERR_BAD_REQUEST')
    })

    it('answers 404 for an unknown organisation', async () => {
      await refusal('GET', '/orgs/nobody/cas', undefined, 404, 'CERTS_ERR_ORG_NOT_FOUND')
      await refusal('GET', '/orgs/..%2F..%2Fetc/cas', undefined, 404, 'CERTS_ERR_ORG_NOT_FOUND')
    })
  })

  describe('CA uploads', () => {
    let operator: OpensslCa

    before(() => { operator = opensslCa(temp.dir, 'operator-ca') })

    const caCount = async (): Promise<number> => (await api.request('GET', '/orgs/acme/cas')).cas.length

    it('adds an openssl-made CA whose devices then connect without a restart, and disabling it stops them', async () => {
      const made = opensslClientCert(operator, 'line-1', 'd:sensor:op-1')
      const before = await tryConnect(device('acme', made, 'd:acme:sensor:op-1'))
      assert.notEqual(before.outcome, 'connected')
      const ca = await api.request('POST', '/orgs/acme/cas', { certificate: operator.certPem, description: 'line 1' })
      assert.equal(ca.enabled, true)
      assert.equal(ca.description, 'line 1')
      await endAll(await connect(device('acme', made, 'd:acme:sensor:op-1')))
      await api.request('POST', `/orgs/acme/cas/${ca.id}/disable`)
      assert.notEqual((await tryConnect(device('acme', made, 'd:acme:sensor:op-1'))).outcome, 'connected')
      await api.request('POST', `/orgs/acme/cas/${ca.id}/enable`)
      await endAll(await connect(device('acme', made, 'd:acme:sensor:op-1')))
      const audit = gw.logs.find(l => l.event === 'audit' && l.action === 'ca.disable')
      assert.equal(audit?.fingerprint, ca.fingerprint_sha256)
      assert.match(audit?.actor, /^tester@/)
    })

    it('adds a CA given as DER (base64 in JSON)', async () => {
      const other = opensslCa(temp.dir, 'der-ca')
      const der = openssl(['x509', '-in', other.certFile, '-outform', 'DER', '-out', path.join(temp.dir, 'der-ca.der')])
      assert.equal(der, '')
      const ca = await api.request('POST', '/orgs/acme/cas', { certificate: readFileSync(path.join(temp.dir, 'der-ca.der')).toString('base64') })
      assert.equal(ca.fingerprint_sha256, readCertificates(other.certPem)[0].fingerprint)
    })

    const refusals: Array<[string, () => string, string]> = [
      ['more than one certificate in the file', () => mintCa('A').certPem + mintCa('B').certPem, 'CERTS_ERR_MULTIPLE_CERTS'],
      ['a certificate that is not a CA', () => mintClient(mintCa('C'), 'd:s:1').certPem, 'CERTS_ERR_NOT_A_CA'],
      ['a CA whose keyUsage lacks keyCertSign', () => opensslCa(temp.dir, 'no-certsign', { keyUsage: 'critical,digitalSignature' }).certPem, 'CERTS_ERR_CA_NO_KEY_CERT_SIGN'],
      ['an expired CA', () => mintCa('Old', { notBefore: DAYS(-60), notAfter: DAYS(-1) }).certPem, 'CERTS_ERR_CERT_EXPIRED'],
      ['a CA not valid yet', () => mintCa('Early', { notBefore: DAYS(2), notAfter: DAYS(60) }).certPem, 'CERTS_ERR_CERT_NOT_YET_VALID'],
      ['an unparsable file', () => '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n', 'CERTS_ERR_CERT_UNPARSABLE'],
      ['random bytes', () => Buffer.from('garbage garbage').toString('base64'), 'CERTS_ERR_CERT_UNPARSABLE'],
      ['an already registered CA', () => operator.certPem, 'CERTS_ERR_CA_EXISTS']
    ]
    for (const [label, make, code] of refusals) {
      it(`refuses ${label} with ${code}, changing nothing`, async () => {
        const count = await caCount()
        await refusal('POST', '/orgs/acme/cas', { certificate: make() }, code === 'CERTS_ERR_CA_EXISTS' ? 409 : 400, code)
        assert.equal(await caCount(), count)
      })
    }

    it('refuses to disable, remove or give a CRL to the managed CA', async () => {
      const managed = (await api.request('GET', '/orgs/acme/cas')).cas.find((c: any) => c.kind === 'managed')
      await refusal('POST', `/orgs/acme/cas/${managed.id}/disable`, undefined, 409, 'CERTS_ERR_CA_MANAGED')
      await refusal('DELETE', `/orgs/acme/cas/${managed.id}`, undefined, 409, 'CERTS_ERR_CA_MANAGED')
    })

    it('removes an uploaded CA', async () => {
      const extra = await api.request('POST', '/orgs/acme/cas', { certificate: mintCa('Short-lived').certPem })
      await api.request('DELETE', `/orgs/acme/cas/${extra.id}`)
      await refusal('GET', `/orgs/acme/cas/${extra.id}`, undefined, 404, 'CERTS_ERR_CA_NOT_FOUND')
    })

    it('loads a CRL (PEM and DER) and refuses its serials at CONNECT while other devices connect', async () => {
      const ca = (await api.request('GET', '/orgs/acme/cas')).cas.find((c: any) => c.fingerprint_sha256 === readCertificates(operator.certPem)[0].fingerprint)
      const revoked = opensslClientCert(operator, 'crl-1', 'd:sensor:crl-1')
      const kept = opensslClientCert(operator, 'crl-2', 'd:sensor:crl-2')
      const loaded = await api.request('PUT', `/orgs/acme/cas/${ca.id}/crl`, { crl: readFileSync(opensslCrl(operator, [revoked.serial]).crlFile, 'utf8') })
      assert.equal(loaded.crl.revoked_serials, 1)
      assert.deepEqual(await tryConnect(device('acme', revoked, 'd:acme:sensor:crl-1')), { outcome: 'connack', returnCode: 5 })
      assert.ok(await gw.logs.waitFor(l => l.code === 'BROKER_ERR_CERT_REVOKED' && l.clientId === 'd:acme:sensor:crl-1'))
      await endAll(await connect(device('acme', kept, 'd:acme:sensor:crl-2')))
      const emptyDer = readFileSync(opensslCrl(operator, [], 'DER').crlFile).toString('base64')
      await api.request('PUT', `/orgs/acme/cas/${ca.id}/crl`, { crl: emptyDer })
      await endAll(await connect(device('acme', revoked, 'd:acme:sensor:crl-1')))
    })

    it('refuses a CRL signed by another CA, and an unparsable one', async () => {
      const ca = (await api.request('GET', '/orgs/acme/cas')).cas.find((c: any) => c.kind === 'uploaded')
      const stranger = opensslCa(await makeTempDir('stranger').then(t => t.dir), 'stranger')
      await refusal('PUT', `/orgs/acme/cas/${ca.id}/crl`, { crl: readFileSync(opensslCrl(stranger, []).crlFile, 'utf8') }, 400, 'CERTS_ERR_CRL_SIGNATURE')
      await refusal('PUT', `/orgs/acme/cas/${ca.id}/crl`, { crl: 'bm90IGEgY3Js' }, 400, 'CERTS_ERR_CRL_UNPARSABLE')
    })
  })

  describe('server certificates', () => {
    let external: OpensslCa
    const serverExtensions = (names: string): string => `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${names}\n`

    // An organisation of its own: activating a certificate from another CA changes what its clients must trust.
    before(async () => {
      external = opensslCa(temp.dir, 'public-ca')
      await api.request('POST', '/orgs', { id: 'globex' })
    })

    async function served (orgId: string, caPem: string): Promise<string> {
      return await new Promise((resolve, reject) => {
        const socket = tls.connect({ host: '127.0.0.1', port: gw.port, servername: gw.serverName(orgId), ca: caPem }, () => {
          resolve(socket.getPeerX509Certificate()?.fingerprint256 ?? '')
          socket.destroy()
        })
        socket.once('error', reject)
      })
    }

    it('makes a CSR whose key stays on the gateway, completes it with the signed certificate, and serves it once activated', async () => {
      const pending = await api.request('POST', '/orgs/globex/server-certs/csr', { sans: ['mqtt.globex.example'] })
      assert.equal(pending.status, 'pending')
      assert.match(pending.csr, /BEGIN CERTIFICATE REQUEST/)
      const csrFile = path.join(temp.dir, 'server.csr')
      writeFileSync(csrFile, pending.csr)
      const signed = opensslSign(external, csrFile, 'server-1', serverExtensions('DNS:globex.messaging.localhost,DNS:mqtt.globex.example'))
      await refusal('POST', `/orgs/globex/server-certs/${pending.id}/activate`, undefined, 409, 'CERTS_ERR_SERVER_CERT_PENDING')
      const ready = await api.request('POST', '/orgs/globex/server-certs', { certificate: signed.certPem })
      assert.equal(ready.id, pending.id)
      assert.equal(ready.status, 'ready')
      await api.request('POST', `/orgs/globex/server-certs/${ready.id}/activate`)
      assert.equal(await served('globex', external.certPem), new X509Certificate(signed.certPem).fingerprint256)
    })

    it('renews with --reuse-key so the SPKI pin stays the same', async () => {
      const { active } = await api.request('GET', '/orgs/globex/pins')
      const renewal = await api.request('POST', '/orgs/globex/server-certs/csr', { reuse_key: true })
      assert.equal(renewal.spki_pin, active.spki_pin)
      const fresh = await api.request('POST', '/orgs/globex/server-certs/csr', {})
      assert.notEqual(fresh.spki_pin, active.spki_pin)
      const pins = await api.request('GET', '/orgs/globex/pins')
      assert.ok(pins.pending.some((p: any) => p.spki_pin === fresh.spki_pin))
    })

    it('reports the same SPKI pin as openssl for the active certificate', async () => {
      const { server_certificates: list } = await api.request('GET', '/orgs/globex/server-certs')
      const active = list.find((s: any) => s.active)
      const file = path.join(temp.dir, 'active.crt')
      writeFileSync(file, active.certificate)
      assert.equal((await api.request('GET', '/orgs/globex/pins')).active.spki_pin, opensslSpkiPin(file))
    })

    it('uploads a certificate with its passphrase-protected key', async () => {
      const keyFile = path.join(temp.dir, 'own.key')
      openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-aes-256-cbc', '-pass', 'pass:s3cret', '-out', keyFile])
      const csrFile = path.join(temp.dir, 'own.csr')
      openssl(['req', '-new', '-key', keyFile, '-passin', 'pass:s3cret', '-subj', '/CN=globex.messaging.localhost', '-out', csrFile])
      const signed = opensslSign(external, csrFile, 'own', serverExtensions('DNS:globex.messaging.localhost'))
      const keyPem = readFileSync(keyFile, 'utf8')
      await refusal('POST', '/orgs/globex/server-certs', { certificate: signed.certPem, key: keyPem }, 400, 'CERTS_ERR_KEY_PASSPHRASE')
      await refusal('POST', '/orgs/globex/server-certs', { certificate: signed.certPem, key: keyPem, passphrase: 'wrong' }, 400, 'CERTS_ERR_KEY_PASSPHRASE')
      const record = await api.request('POST', '/orgs/globex/server-certs', { certificate: signed.certPem, key: keyPem, passphrase: 's3cret' })
      assert.equal(record.status, 'ready')
      assert.doesNotMatch(gw.logs.text(), /s3cret/)
    })

    it('accepts a wildcard over the messaging domain', async () => {
      const csr = opensslCsr(temp.dir, 'wild', '/CN=*.messaging.localhost')
      const signed = opensslSign(external, csr.csrFile, 'wild', serverExtensions('DNS:*.messaging.localhost'))
      assert.equal((await api.request('POST', '/orgs/globex/server-certs', { certificate: signed.certPem, key: csr.keyPem })).status, 'ready')
    })

    it('refuses a key that does not match, a name of another organisation, a CA, and a certificate matching no CSR', async () => {
      const csr = opensslCsr(temp.dir, 'other', '/CN=globex.messaging.localhost')
      const signed = opensslSign(external, csr.csrFile, 'other', serverExtensions('DNS:globex.messaging.localhost'))
      await refusal('POST', '/orgs/globex/server-certs', { certificate: signed.certPem, key: generateKeyPair().privateKeyPem }, 400, 'CERTS_ERR_KEY_MISMATCH')
      await refusal('POST', '/orgs/globex/server-certs', { certificate: signed.certPem }, 400, 'CERTS_ERR_NO_PENDING_CSR')
      const foreign = opensslCsr(temp.dir, 'foreign', '/CN=initech.messaging.localhost')
      const foreignCert = opensslSign(external, foreign.csrFile, 'foreign', serverExtensions('DNS:initech.messaging.localhost'))
      await refusal('POST', '/orgs/globex/server-certs', { certificate: foreignCert.certPem, key: foreign.keyPem }, 400, 'CERTS_ERR_SERVER_NAME')
      await refusal('POST', '/orgs/globex/server-certs', { certificate: external.certPem, key: readFileSync(external.keyFile, 'utf8') }, 400, 'CERTS_ERR_SERVER_CERT_IS_CA')
      await refusal('POST', '/orgs/globex/server-certs/csr', { sans: ['bad name!'] }, 400, 'CERTS_ERR_NAME_INVALID')
    })

    it('never returns a server key', async () => {
      const body = JSON.stringify(await api.request('GET', '/orgs/globex/server-certs'))
      assert.doesNotMatch(body, /PRIVATE KEY/)
    })
  })

  describe('client certificates', () => {
    it('issues with a generated key: Cloudflare\'s fields, a key for the caller only, verified by openssl, able to connect', async () => {
      const issued = await api.request('POST', '/orgs/acme/certs', { cn: 'd:sensor:issued-1', days: 30 })
      for (const field of ['id', 'certificate', 'csr', 'ski', 'serial_number', 'signature', 'common_name', 'issued_on', 'expires_on', 'validity_days', 'fingerprint_sha256', 'certificate_authority']) {
        assert.ok(issued[field] !== undefined && issued[field] !== '', `field ${field}`)
      }
      assert.equal(issued.validity_days, 30)
      assert.match(issued.private_key, /PRIVATE KEY/)
      writeFileSync(path.join(temp.dir, 'issued-1.crt'), issued.certificate)
      writeFileSync(path.join(temp.dir, 'acme-ca.pem'), issued.ca_certificate)
      assert.ok(opensslVerifies(path.join(temp.dir, 'acme-ca.pem'), path.join(temp.dir, 'issued-1.crt')))
      await endAll(await connect(device('acme', { certPem: issued.certificate, keyPem: issued.private_key }, 'd:acme:sensor:issued-1')))
      const shown = await api.request('GET', `/orgs/acme/certs/${issued.id}`)
      assert.equal(shown.private_key, undefined, 'the key is handed over once, never stored')
      assert.doesNotMatch(JSON.stringify(await api.request('GET', '/orgs/acme/certs')), /PRIVATE KEY/)
    })

    it('signs a CSR made by openssl req and one made by node-forge; both verify with openssl and connect', async () => {
      const byOpenssl = opensslCsr(temp.dir, 'dev-openssl', '/CN=d:sensor:csr-openssl')
      const forgeKeys = generateKeyPair()
      const byForge = { csrPem: createCsr(forgeKeys.privateKeyPem, 'd:sensor:csr-forge', []), keyPem: forgeKeys.privateKeyPem }
      for (const [cn, csr] of [['d:sensor:csr-openssl', byOpenssl], ['d:sensor:csr-forge', byForge]] as const) {
        const issued = await api.request('POST', '/orgs/acme/certs', { cn, csr: csr.csrPem })
        assert.equal(issued.private_key, undefined)
        const file = path.join(temp.dir, `${cn.replaceAll(':', '_')}.crt`)
        writeFileSync(file, issued.certificate)
        assert.ok(opensslVerifies(path.join(temp.dir, 'acme-ca.pem'), file), `${cn} verifies`)
        await endAll(await connect(device('acme', { certPem: issued.certificate, keyPem: csr.keyPem }, `d:acme:${cn.slice(2)}`)))
      }
    })

    it('refuses a malformed CN, a bad CSR, a CSR for another CN, a tampered CSR and a validity out of range', async () => {
      await refusal('POST', '/orgs/acme/certs', { cn: 'sensor-1' }, 400, 'CERTS_ERR_NAME_INVALID')
      await refusal('POST', '/orgs/acme/certs', { cn: 'd:sensor:a/b' }, 400, 'CERTS_ERR_NAME_INVALID')
      await refusal('POST', '/orgs/acme/certs', { cn: 'd:sensor:x', csr: 'garbage' }, 400, 'CERTS_ERR_CSR_UNPARSABLE')
      const csr = opensslCsr(temp.dir, 'mismatch', '/CN=d:sensor:someone-else')
      await refusal('POST', '/orgs/acme/certs', { cn: 'd:sensor:x', csr: csr.csrPem }, 400, 'CERTS_ERR_CSR_CN_MISMATCH')
      await refusal('POST', '/orgs/acme/certs', { cn: 'd:sensor:someone-else', csr: tamper(csr.csrPem) }, 400, 'CERTS_ERR_CSR_SIGNATURE')
      await refusal('POST', '/orgs/acme/certs', { cn: 'd:sensor:x', days: 0 }, 400, 'CERTS_ERR_DAYS_INVALID')
      await refusal('POST', '/orgs/acme/certs', { cn: 'd:sensor:x', days: 5000 }, 400, 'CERTS_ERR_DAYS_INVALID')
    })

    it('signs the CSR of an ECDSA P-256 key (a constrained device\'s usual key), which then connects', async () => {
      const ecKey = path.join(temp.dir, 'ec.key')
      openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', ecKey])
      const ecCsr = openssl(['req', '-new', '-key', ecKey, '-subj', '/CN=d:sensor:ec'])
      const issued = await api.request('POST', '/orgs/acme/certs', { cn: 'd:sensor:ec', csr: ecCsr })
      const file = path.join(temp.dir, 'ec.crt')
      writeFileSync(file, issued.certificate)
      assert.ok(opensslVerifies(path.join(temp.dir, 'acme-ca.pem'), file))
      assert.match(openssl(['x509', '-in', file, '-noout', '-text']), /id-ecPublicKey/)
      await endAll(await connect(device('acme', { certPem: issued.certificate, keyPem: readFileSync(ecKey, 'utf8') }, 'd:acme:sensor:ec')))
    })

    it('finds a certificate by id, serial and fingerprint, and lists the expiring ones with CAs and server certificates', async () => {
      const issued = await api.request('POST', '/orgs/acme/certs', { cn: 'a:billing', days: 10 })
      for (const ref of [issued.id, issued.serial_number, issued.serial_number.toLowerCase(), issued.fingerprint_sha256]) {
        assert.equal((await api.request('GET', `/orgs/acme/certs/${encodeURIComponent(ref)}`)).id, issued.id, ref)
      }
      await refusal('GET', '/orgs/acme/certs/ABCDEF', undefined, 404, 'CERTS_ERR_CERT_NOT_FOUND')
      const soon = await api.request('GET', '/orgs/acme/certs?expiring=15d')
      assert.deepEqual(soon.certificates.map((c: any) => c.common_name), ['a:billing'])
      assert.ok(Array.isArray(soon.cas) && Array.isArray(soon.server_certificates))
      await refusal('GET', '/orgs/acme/certs?expiring=soon', undefined, 400, 'ADMIN_ERR_BAD_REQUEST')
    })

    it('revokes: the live session closes within a second, reconnecting is refused, restore lets it back', async () => {
      const issued = await api.request('POST', '/orgs/acme/certs', { cn: 'd:sensor:to-revoke' })
      const cert = { certPem: issued.certificate, keyPem: issued.private_key }
      const live = await connect(device('acme', cert, 'd:acme:sensor:to-revoke'))
      const started = Date.now()
      const revoked = await api.request('POST', `/orgs/acme/certs/${issued.serial_number}/revoke`)
      assert.equal(revoked.status, 'revoked')
      assert.equal(await closed(live, 1000), true)
      assert.ok(Date.now() - started < 1000)
      assert.deepEqual(await tryConnect(device('acme', cert, 'd:acme:sensor:to-revoke')), { outcome: 'connack', returnCode: 5 })
      assert.equal((await api.request('GET', `/orgs/acme/certs/${issued.id}`)).status, 'revoked')
      await api.request('POST', `/orgs/acme/certs/${issued.id}/restore`)
      await endAll(await connect(device('acme', cert, 'd:acme:sensor:to-revoke')))
      assert.ok(gw.logs.find(l => l.event === 'audit' && l.action === 'cert.revoke' && l.fingerprint === issued.fingerprint_sha256))
    })
  })

  describe('gateways', () => {
    it('limits the devices a gateway acts for, and lifts the limit', async () => {
      await api.request('PUT', '/orgs/acme/gateways/gw:hall-9/devices', { allow: ['sensor:a1', 'valve:*'] })
      const cert = gw.issue('acme', 'g:gw:hall-9')
      const gateway = await connect(device('acme', cert, 'g:acme:gw:hall-9'))
      await gateway.publishAsync('iot-2/type/sensor/id/a1/evt/temp/fmt/json', '{}', { qos: 1 })
      await gateway.publishAsync('iot-2/type/valve/id/any/evt/temp/fmt/json', '{}', { qos: 1 })
      gateway.publish('iot-2/type/sensor/id/b2/evt/temp/fmt/json', '{}', { qos: 1 })
      assert.equal(await closed(gateway), true)
      await api.request('PUT', '/orgs/acme/gateways/gw:hall-9/devices', { allow: [] })
      const again = await connect(device('acme', cert, 'g:acme:gw:hall-9'))
      await again.publishAsync('iot-2/type/sensor/id/b2/evt/temp/fmt/json', '{}', { qos: 1 })
      await endAll(again)
      await refusal('PUT', '/orgs/acme/gateways/gw:hall-9/devices', { allow: ['sensor'] }, 400, 'CERTS_ERR_ALLOW_INVALID')
      await refusal('PUT', '/orgs/acme/gateways/a:b:c/devices', { allow: [] }, 400, 'CERTS_ERR_GATEWAY_INVALID')
    })
  })

  describe('secrets', () => {
    it('returns a private key only in the response that generated it for its caller', () => {
      const leaking = responses.filter(r => JSON.stringify(r.body).includes('PRIVATE KEY') && !(r.route === 'POST /orgs/acme/certs'))
      assert.deepEqual(leaking.map(r => r.route), [])
      assert.ok(responses.length > 20)
    })

    it('never logs a private key', () => {
      assert.doesNotMatch(gw.logs.text(), /PRIVATE KEY/)
    })
  })
})

/** Flips one byte of the CSR's signature, leaving its structure intact. */
function tamper (csrPem: string): string {
  const csr = forge.pki.certificationRequestFromPem(csrPem)
  const signature = csr.signature as string
  ;(csr as unknown as { signature: string }).signature = signature.slice(0, -1) + String.fromCharCode(signature.charCodeAt(signature.length - 1) ^ 1)
  return forge.pki.certificationRequestToPem(csr)
}
