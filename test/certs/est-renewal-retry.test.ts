import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { promisify } from 'node:util'
import http from 'node:http'
import path from 'node:path'
import { issueClientCert, setRenewalWindow, type IssuedCertRecord } from '../../certs/index.js'
import { estRenew, type EstAnswer } from '../support/est-client.js'
import { connect, endAll } from '../support/mqtt-client.js'
import { runCommand } from '../support/mqgate-cli.js'
import { freePort } from '../support/redis-server.js'
import { startTestStack, within, type TestStack } from '../support/stack.js'
import { makeTempDir } from '../support/temp-dir.js'

/**
 * A renewal whose answer never reached the device (RFC 7030 4.2.2/4.2.3 lets
 * it retry simplereenroll): with curl and openssl as the device, the retry
 * with the old certificate is answered while the replacement is unused, the
 * unused one is revoked (the served CRL says so, `openssl verify
 * -crl_check`), a used replacement ends the old certificate's renewals, and
 * retries are bounded. The grace is the default (10 min): the old
 * certificate stays valid for the whole test, so each refusal is renew()'s.
 */
describe('EST simplereenroll: a retry after a lost answer', function () {
  this.timeout(90_000)
  const HOST = 'demo.messaging.localhost'
  let stack: TestStack
  let pkiPort: number
  let temp: { dir: string, remove: () => Promise<void> }

  before(async () => {
    temp = await makeTempDir('est-renewal-retry')
    pkiPort = await freePort()
    stack = await startTestStack({ MQGATE_PKI_HTTP_PORT: String(pkiPort) })
    writeFileSync(path.join(temp.dir, 'ca.pem'), stack.caPem)
    await setRenewalWindow(stack.running.registry, 'demo', 'any', 'test')
  })
  after(async () => {
    await stack.close()
    await temp.remove()
  })

  async function issued (name: string, commonName: string): Promise<IssuedCertRecord> {
    const { record, keyPem } = await issueClientCert(stack.running.registry, 'demo', { commonName }, 'test')
    writeFileSync(path.join(temp.dir, `${name}.crt`), record.certPem)
    writeFileSync(path.join(temp.dir, `${name}.key`), keyPem as string)
    return record
  }

  async function renewed (cert: string, cn: string, out: string): Promise<EstAnswer> {
    return await estRenew(temp.dir, { port: stack.apiPort, host: HOST, cn, cert, out })
  }

  async function renewedOk (cert: string, cn: string, out: string): Promise<string> {
    const answer = await renewed(cert, cn, out)
    assert.equal(answer.status, 200, JSON.stringify(answer.body))
    return answer.certPem as string
  }

  /** `openssl verify -crl_check` of `<name>.crt` against the CRL the PKI port serves now. */
  async function crlVerdict (name: string): Promise<'OK' | 'revoked'> {
    const crl = await new Promise<Buffer>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: pkiPort, path: '/crl/demo.crl' }, res => {
        const chunks: Buffer[] = []
        res.on('data', chunk => chunks.push(chunk))
        res.on('end', () => resolve(Buffer.concat(chunks)))
      }).on('error', reject)
    })
    writeFileSync(path.join(temp.dir, 'served.crl'), crl)
    const run = await runCommand('openssl', ['verify', '-crl_check', '-CRLfile', 'served.crl', '-CAfile', 'ca.pem', `${name}.crt`], { cwd: temp.dir })
    const text = run.stdout + run.stderr
    if (/: OK/.test(text)) return 'OK'
    assert.match(text, /certificate revoked/)
    return 'revoked'
  }

  it('answers a retry with the old certificate while the replacement is unused: a new certificate, the unused one revoked (CRL), the old one still valid', async () => {
    const old = await issued('lost-old', 'd:sensor:lost1')
    const first = await renewedOk('lost-old', 'd:sensor:lost1', 'lost-first')
    // The answer is lost: the device never holds lost-first, and asks again with the old certificate.
    const second = await renewedOk('lost-old', 'd:sensor:lost1', 'lost-second')
    assert.notEqual(new X509Certificate(second).serialNumber, new X509Certificate(first).serialNumber)
    assert.equal(await crlVerdict('lost-first'), 'revoked')
    assert.equal(await crlVerdict('lost-second'), 'OK')
    assert.equal(await crlVerdict('lost-old'), 'OK', 'the old certificate is retired only after its replacement\'s first use')
    const supersede = stack.logs.lines.filter(l => l.event === 'audit' && l.action === 'cert.supersede' && l.replaces === old.id)
    assert.equal(supersede.length, 1)
    assert.equal(supersede[0].reason, 'superseded')
    assert.equal(await curlTemps('lost-second'), '200')
  })

  it('refuses the old certificate once the retried replacement was used (CERTS_ERR_RENEW_ALREADY_REPLACED); the replacement renews', async () => {
    const old = await issued('used-old', 'd:sensor:used1')
    await renewedOk('used-old', 'd:sensor:used1', 'used-first')
    const second = await renewedOk('used-old', 'd:sensor:used1', 'used-second')
    const session = await connect({ port: stack.mqttPort, servername: HOST, caPem: stack.caPem, cert: { certPem: second, keyPem: readKey('used-second') }, clientId: 'd:demo:sensor:used1' })
    await within(10_000, async () => stack.running.registry.require('demo').renewals?.find(r => r.id === old.id)?.firstUsedAt)
    const refused = await renewed('used-old', 'd:sensor:used1', 'used-third')
    assert.equal(refused.status, 409)
    assert.equal(refused.body.error.code, 'CERTS_ERR_RENEW_ALREADY_REPLACED')
    assert.equal(await crlVerdict('used-second'), 'OK', 'the refusal revoked nothing')
    await renewedOk('used-second', 'd:sensor:used1', 'used-next')
    await endAll(session)
  })

  it('bounds the retries: three unused replacements, then CERTS_ERR_RENEW_RETRIES_EXHAUSTED, with only the last one live', async () => {
    await issued('bound-old', 'd:sensor:bound1')
    for (const out of ['bound-1', 'bound-2', 'bound-3']) await renewedOk('bound-old', 'd:sensor:bound1', out)
    const refused = await renewed('bound-old', 'd:sensor:bound1', 'bound-4')
    assert.equal(refused.status, 409)
    assert.equal(refused.body.error.code, 'CERTS_ERR_RENEW_RETRIES_EXHAUSTED')
    assert.deepEqual([await crlVerdict('bound-1'), await crlVerdict('bound-2'), await crlVerdict('bound-3')], ['revoked', 'revoked', 'OK'])
  })

  function readKey (name: string): string {
    return readFileSync(path.join(temp.dir, `${name}.key`), 'utf8')
  }

  /** GET /temps with `<name>.crt`: the HTTP status. */
  async function curlTemps (name: string): Promise<string> {
    const { stdout } = await promisify(execFile)('curl', ['-sS', '--cacert', 'ca.pem', '--cert', `${name}.crt`, '--key', `${name}.key`, '--resolve', `${HOST}:${stack.apiPort}:127.0.0.1`,
      '-o', '/dev/null', '-w', '%{http_code}', `https://${HOST}:${stack.apiPort}/temps`], { cwd: temp.dir, encoding: 'utf8' })
    return stdout
  }
})
