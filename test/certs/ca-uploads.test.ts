import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { AdminApiError } from '../../certs/cli/index.js'
import { AdminClient } from '../../certs/cli/admin-client.js'
import { startTestGateway, type TestGateway } from '../support/gateway.js'
import { connect, endAll, tryConnect } from '../support/mqtt-client.js'
import { openssl, opensslClientCert, type OpensslCa } from '../support/openssl.js'
import { makeTempDir } from '../support/temp-dir.js'

/**
 * What an uploaded CA file must not be (issue 10, item 3): a file that also
 * carries the CA's key, weak key or signature material, or a CA another
 * organisation already trusts. Every refused CA is made by openssl exactly
 * like an accepted control but for the one property the refusal names.
 */

const MQGATE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../cli/mqgate.js')

interface CaSpec {
  /** `-newkey` argument: rsa:2048, ec (with curve), ed25519. */
  readonly newkey: string
  readonly curve?: string
  /** Digest option (-sha256, -sha1, -md5), absent for EdDSA. */
  readonly md?: string
  readonly pss?: boolean
  readonly subject?: string
}

let counter = 0

/** A root CA by `openssl req -x509`: CA:TRUE, keyCertSign, valid now; only `spec` varies. */
function caWith (dir: string, spec: CaSpec): OpensslCa {
  const name = `ca-${++counter}`
  const certFile = path.join(dir, `${name}.crt`)
  const keyFile = path.join(dir, `${name}.key`)
  openssl(['req', '-x509', '-newkey', spec.newkey, ...(spec.curve === undefined ? [] : ['-pkeyopt', `ec_paramgen_curve:${spec.curve}`]),
    ...(spec.md === undefined ? [] : [spec.md]), ...(spec.pss === true ? ['-sigopt', 'rsa_padding_mode:pss'] : []),
    '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '30', '-subj', spec.subject ?? `/CN=${name}/O=upload tests`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
  return { dir, certFile, keyFile, certPem: readFileSync(certFile, 'utf8') }
}

/** The base64 body of a PEM block, one line: what must never appear anywhere once refused. */
function pemBody (pem: string): string {
  return pem.split('\n').filter(line => line !== '' && !line.startsWith('-----')).join('')
}

function filesUnder (dir: string): string[] {
  return readdirSync(dir).flatMap(name => {
    const full = path.join(dir, name)
    return statSync(full).isDirectory() ? filesUnder(full) : [full]
  })
}

describe('CA uploads', function () {
  this.timeout(30_000)
  let gw: TestGateway
  let api: AdminClient
  let temp: { dir: string, remove: () => Promise<void> }

  before(async () => {
    gw = await startTestGateway({ orgs: ['acme', 'globex', 'initech'] })
    temp = await makeTempDir('ca-uploads')
    api = new AdminClient({ apiUrl: gw.admin.url, token: gw.admin.token, caPem: gw.admin.caPem, operator: 'tester' })
  })
  after(async () => {
    await gw.close()
    await temp.remove()
  })

  const caCount = async (orgId: string): Promise<number> => (await api.request('GET', `/orgs/${orgId}/cas`)).cas.length

  /** The refusal's code and status, with nothing added; returns the raw error for further checks. */
  async function refused (orgId: string, body: Record<string, unknown>, status: number, code: string): Promise<AdminApiError> {
    const count = await caCount(orgId)
    let caught: AdminApiError | undefined
    await assert.rejects(api.request('POST', `/orgs/${orgId}/cas`, body), (err: AdminApiError) => {
      caught = err
      assert.equal(err.code, code, err.message)
      assert.equal(err.status, status)
      return true
    })
    assert.equal(await caCount(orgId), count, 'nothing was added')
    return caught as AdminApiError
  }

  async function mqgateCli (args: readonly string[]): Promise<{ status: number | null, stdout: string, stderr: string }> {
    const env = { ...process.env, MQGATE_ADMIN_TOKEN: gw.admin.token, MQGATE_ADMIN_URL: '', MQGATE_ADMIN_CA: '' }
    return await new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [MQGATE, ...args, '--api', gw.admin.url, '--ca', gw.admin.caFile], { env, stdio: ['ignore', 'pipe', 'pipe'] })
      let stdout = ''
      let stderr = ''
      child.stdout.setEncoding('utf8').on('data', chunk => { stdout += chunk })
      child.stderr.setEncoding('utf8').on('data', chunk => { stderr += chunk })
      child.once('error', reject)
      child.once('close', status => resolve({ status, stdout, stderr }))
    })
  }

  describe('a file that also holds the CA\'s private key', () => {
    let ca: OpensslCa
    const keyForms: Array<[string, () => string]> = [
      ['PRIVATE KEY (PKCS#8)', () => readFileSync(ca.keyFile, 'utf8')],
      ['RSA PRIVATE KEY (traditional)', () => openssl(['rsa', '-in', ca.keyFile, '-traditional'])],
      ['ENCRYPTED PRIVATE KEY', () => openssl(['pkcs8', '-topk8', '-in', ca.keyFile, '-v2', 'aes-256-cbc', '-passout', 'pass:s3cret'])]
    ]

    before(() => { ca = caWith(temp.dir, { newkey: 'rsa:2048', md: '-sha256' }) })

    for (const [label, keyPem] of keyForms) {
      for (const order of ['key first', 'certificate first'] as const) {
        it(`refuses a ${label} block beside the certificate (${order}) with CERTS_ERR_CA_KEY_INCLUDED; the key is nowhere`, async () => {
          const key = keyPem()
          assert.match(key, new RegExp(`-----BEGIN ${label.split(' (')[0]}-----`))
          const file = order === 'key first' ? key + ca.certPem : ca.certPem + key
          const err = await refused('acme', { certificate: file }, 400, 'CERTS_ERR_CA_KEY_INCLUDED')
          assert.match(err.message, /keep the CA's private key offline/)
          const secret = pemBody(key).slice(40, 120)
          assert.ok(!JSON.stringify(err).includes(secret) && !err.message.includes(secret), 'the response has no key bytes')
          assert.ok(!gw.logs.text().includes(secret), 'the log has no key bytes')
          for (const stored of filesUnder(gw.dataDir)) assert.ok(!readFileSync(stored, 'latin1').includes(secret), `${stored} has no key bytes`)
          assert.ok(gw.logs.find(l => l.code === 'CERTS_ERR_CA_KEY_INCLUDED'))
        })
      }
    }

    it('refuses an EC PRIVATE KEY (SEC1) block beside an ECDSA CA', async () => {
      const ec = caWith(temp.dir, { newkey: 'ec', curve: 'P-256', md: '-sha256' })
      const sec1 = openssl(['ec', '-in', ec.keyFile])
      assert.match(sec1, /-----BEGIN EC PRIVATE KEY-----/)
      await refused('acme', { certificate: ec.certPem + sec1 }, 400, 'CERTS_ERR_CA_KEY_INCLUDED')
      assert.ok(!gw.logs.text().includes(pemBody(sec1).slice(20, 80)))
    })

    it('accepts the same certificate alone (so the key is the only reason)', async () => {
      assert.equal((await api.request('POST', '/orgs/acme/cas', { certificate: ca.certPem })).kind, 'uploaded')
    })

    it('mqgate ca add refuses such a file before sending anything to the gateway', async () => {
      const bundle = path.join(temp.dir, 'bundle.pem')
      const other = caWith(temp.dir, { newkey: 'rsa:2048', md: '-sha256' })
      writeFileSync(bundle, other.certPem + readFileSync(other.keyFile, 'utf8'))
      const refusalsBefore = gw.logs.lines.filter(l => l.code === 'CERTS_ERR_CA_KEY_INCLUDED').length
      const result = await mqgateCli(['ca', 'add', 'acme', bundle])
      assert.equal(result.status, 1, result.stderr)
      assert.match(result.stderr, /^mqgate: CERTS_ERR_CA_KEY_INCLUDED: /)
      assert.ok(!result.stderr.includes(pemBody(readFileSync(other.keyFile, 'utf8')).slice(40, 120)))
      assert.equal(gw.logs.lines.filter(l => l.code === 'CERTS_ERR_CA_KEY_INCLUDED').length, refusalsBefore, 'the gateway never saw the request')
    })
  })

  describe('weak material', () => {
    // [what, the CA, its refusal code or 'accepted'] — each refused CA differs from an accepted one in one property.
    const cases: Array<[string, CaSpec, string]> = [
      ['RSA 2048, SHA-256', { newkey: 'rsa:2048', md: '-sha256' }, 'accepted'],
      ['RSA 1024, SHA-256', { newkey: 'rsa:1024', md: '-sha256' }, 'CERTS_ERR_CA_KEY_TOO_SMALL'],
      ['RSA 2047, SHA-256', { newkey: 'rsa:2047', md: '-sha256' }, 'CERTS_ERR_CA_KEY_TOO_SMALL'],
      ['RSA 2048, SHA-1', { newkey: 'rsa:2048', md: '-sha1' }, 'CERTS_ERR_CA_SIGNATURE_WEAK'],
      ['RSA 2048, MD5', { newkey: 'rsa:2048', md: '-md5' }, 'CERTS_ERR_CA_SIGNATURE_WEAK'],
      ['RSA-PSS 2048, SHA-256', { newkey: 'rsa:2048', md: '-sha256', pss: true }, 'accepted'],
      ['RSA-PSS 2048, SHA-1', { newkey: 'rsa:2048', md: '-sha1', pss: true }, 'CERTS_ERR_CA_SIGNATURE_WEAK'],
      ['ECDSA P-256, SHA-256', { newkey: 'ec', curve: 'P-256', md: '-sha256' }, 'accepted'],
      ['ECDSA P-384, SHA-384', { newkey: 'ec', curve: 'P-384', md: '-sha384' }, 'accepted'],
      ['ECDSA P-521, SHA-512', { newkey: 'ec', curve: 'P-521', md: '-sha512' }, 'accepted'],
      ['ECDSA P-256, SHA-1', { newkey: 'ec', curve: 'P-256', md: '-sha1' }, 'CERTS_ERR_CA_SIGNATURE_WEAK'],
      ['ECDSA secp256k1, SHA-256', { newkey: 'ec', curve: 'secp256k1', md: '-sha256' }, 'CERTS_ERR_CA_CURVE_UNSUPPORTED'],
      ['ECDSA brainpoolP256r1, SHA-256', { newkey: 'ec', curve: 'brainpoolP256r1', md: '-sha256' }, 'CERTS_ERR_CA_CURVE_UNSUPPORTED'],
      ['ECDSA P-224, SHA-256', { newkey: 'ec', curve: 'P-224', md: '-sha256' }, 'CERTS_ERR_CA_CURVE_UNSUPPORTED'],
      ['Ed25519', { newkey: 'ed25519' }, 'accepted']
    ]
    for (const [label, spec, outcome] of cases) {
      if (outcome === 'accepted') {
        it(`accepts a CA with ${label}`, async () => {
          const added = await api.request('POST', '/orgs/initech/cas', { certificate: caWith(temp.dir, spec).certPem })
          assert.equal(added.kind, 'uploaded')
        })
      } else {
        it(`refuses a CA with ${label} (${outcome}), changing nothing`, async () => {
          await refused('initech', { certificate: caWith(temp.dir, spec).certPem }, 400, outcome)
        })
      }
    }
  })

  describe('the same CA in a second organisation', () => {
    let factory: OpensslCa

    before(async () => {
      factory = caWith(temp.dir, { newkey: 'rsa:2048', md: '-sha256', subject: '/CN=Factory Root/O=Shared Co' })
      await api.request('POST', '/orgs/acme/cas', { certificate: factory.certPem })
    })

    it('refuses it with CERTS_ERR_CA_IN_OTHER_ORG (409) without the acknowledgement, naming the other organisation in the log only', async () => {
      const err = await refused('globex', { certificate: factory.certPem }, 409, 'CERTS_ERR_CA_IN_OTHER_ORG')
      assert.match(err.message, /another organisation/)
      assert.doesNotMatch(err.message, /acme/)
      const line = gw.logs.find(l => l.event === 'admin.refused' && l.code === 'CERTS_ERR_CA_IN_OTHER_ORG')
      assert.deepEqual(line?.otherOrgs, ['acme'])
    })

    it('tells an org-admin of globex, by preview or add, nothing of which organisation trusts the CA (issue 14)', async () => {
      const { token } = await api.request('POST', '/operators', { name: 'globex-admin', role: 'org-admin', orgs: ['globex'] })
      const orgAdmin = new AdminClient({ apiUrl: gw.admin.url, token, caPem: gw.admin.caPem, operator: 'globex-admin' })
      const preview = await orgAdmin.request('POST', '/orgs/globex/cas/preview', { certificate: factory.certPem })
      assert.deepEqual(preview.refusals.map((r: any) => r.code), ['CERTS_ERR_CA_IN_OTHER_ORG'])
      assert.doesNotMatch(JSON.stringify(preview), /acme/)
      await assert.rejects(orgAdmin.request('POST', '/orgs/globex/cas', { certificate: factory.certPem }), (err: AdminApiError) => {
        assert.equal(err.code, 'CERTS_ERR_CA_IN_OTHER_ORG')
        assert.doesNotMatch(err.message, /acme/)
        return true
      })
    })

    it('refuses a re-issued certificate of that CA too (same subject and key, other serial and dates)', async () => {
      const reissued = path.join(temp.dir, 'reissued.crt')
      openssl(['req', '-x509', '-key', factory.keyFile, '-out', reissued, '-days', '60', '-sha256', '-subj', '/CN=Factory Root/O=Shared Co',
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
      await refused('globex', { certificate: readFileSync(reissued, 'utf8') }, 409, 'CERTS_ERR_CA_IN_OTHER_ORG')
    })

    it('accepts a CA with the same subject but another key, and one with the same key but another subject', async () => {
      const sameName = caWith(temp.dir, { newkey: 'rsa:2048', md: '-sha256', subject: '/CN=Factory Root/O=Shared Co' })
      assert.equal((await api.request('POST', '/orgs/globex/cas', { certificate: sameName.certPem })).shared, false)
      const otherName = openssl(['req', '-x509', '-key', factory.keyFile, '-days', '30', '-sha256', '-subj', '/CN=Factory Root 2/O=Shared Co',
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
      assert.equal((await api.request('POST', '/orgs/globex/cas', { certificate: otherName })).shared, false)
    })

    it('mqgate ca add refuses it, and --shared adds it: its devices are then trusted in both organisations', async () => {
      const file = factory.certFile
      const plain = await mqgateCli(['ca', 'add', 'initech', file])
      assert.equal(plain.status, 1, plain.stderr)
      assert.match(plain.stderr, /^mqgate: CERTS_ERR_CA_IN_OTHER_ORG: /)
      const device = opensslClientCert(factory, 'shared-dev', 'd:sensor:shared-1')
      const spec = (orgId: string): Parameters<typeof connect>[0] => ({ port: gw.port, servername: gw.serverName(orgId), caPem: gw.caOf(orgId), cert: device, clientId: `d:${orgId}:sensor:shared-1` })
      assert.notEqual((await tryConnect(spec('initech'))).outcome, 'connected')

      const shared = await mqgateCli(['ca', 'add', 'initech', file, '--shared', '--json'])
      assert.equal(shared.status, 0, shared.stderr)
      assert.equal(JSON.parse(shared.stdout).shared, true)
      await endAll(await connect(spec('acme')))
      await endAll(await connect(spec('initech')))
      assert.deepEqual(gw.logs.find(l => l.event === 'audit' && l.action === 'ca.add' && l.orgId === 'initech' && l.sharedWith !== undefined)?.sharedWith, ['acme'])
    })

    it('the API takes "shared": true', async () => {
      const other = caWith(temp.dir, { newkey: 'ec', curve: 'P-256', md: '-sha256' })
      await api.request('POST', '/orgs/acme/cas', { certificate: other.certPem })
      assert.equal((await api.request('POST', '/orgs/globex/cas', { certificate: other.certPem, shared: true })).shared, true)
    })
  })
})
