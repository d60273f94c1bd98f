import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { promisify } from 'node:util'
import path from 'node:path'
import { issueClientCert, revokeCert, restoreCert, setRenewalWindow, type IssuedCertRecord } from '../../certs/index.js'
import { estRenew, type EstAnswer } from '../support/est-client.js'
import { closed, connect, endAll, sleep, tryConnect } from '../support/mqtt-client.js'
import { startTestStack, within, type TestStack } from '../support/stack.js'
import { makeTempDir } from '../support/temp-dir.js'

/**
 * Renewal over EST (RFC 7030 4.2.2) on `mqgate start`, with curl and openssl
 * as the device: the new certificate works on MQTT and HTTPS, its first use
 * retires the old one after MQGATE_RENEW_GRACE (2 s here), closing its live
 * session; each refusal is set up so that only its own condition is wrong.
 */
/** Short for the test, long enough that a loaded machine's curl still fits inside it. */
const GRACE_MS = 2000

describe('EST simplereenroll: renewal with the current certificate', function () {
  this.timeout(60_000)
  const HOST = 'demo.messaging.localhost'
  let stack: TestStack
  let temp: { dir: string, remove: () => Promise<void> }

  before(async () => {
    temp = await makeTempDir('est-renewal')
    stack = await startTestStack({ MQGATE_RENEW_GRACE: `${GRACE_MS}ms` })
    writeFileSync(path.join(temp.dir, 'ca.pem'), stack.caPem)
  })
  after(async () => {
    await stack.close()
    await temp.remove()
  })

  const registry = (): TestStack['running']['registry'] => stack.running.registry

  /** A recorded certificate of the demo organisation, as `<name>.crt` / `<name>.key` in the temp dir. */
  async function issued (name: string, commonName: string): Promise<IssuedCertRecord> {
    const { record, keyPem } = await issueClientCert(registry(), 'demo', { commonName }, 'test')
    writeFileSync(path.join(temp.dir, `${name}.crt`), record.certPem)
    writeFileSync(path.join(temp.dir, `${name}.key`), keyPem as string)
    return record
  }

  async function renewWith (cert: string, cn: string, out: string): Promise<EstAnswer> {
    return await estRenew(temp.dir, { port: stack.apiPort, host: HOST, cn, cert, out })
  }

  const mqttAs = (certPem: string, keyPem: string, clientId: string): Parameters<typeof connect>[0] =>
    ({ port: stack.mqttPort, servername: HOST, caPem: stack.caPem, cert: { certPem, keyPem }, clientId })

  const auditLines = (action: string, certId: string): Array<Record<string, any>> =>
    stack.logs.lines.filter(l => l.event === 'audit' && l.action === action && l.certId === certId)

  it('renews over curl, the new certificate connects, and its first use retires the old one after the grace, closing its live session', async () => {
    await setRenewalWindow(registry(), 'demo', 'any', 'test')
    const old = await issued('app-old', 'a:renewapp')
    const oldSession = await connect(mqttAs(old.certPem, readKey('app-old'), 'a:demo:renewapp:1'))
    const answer = await renewWith('app-old', 'a:renewapp', 'app-new')
    assert.equal(answer.status, 200, JSON.stringify(answer.body))
    assert.equal(answer.contentType, 'application/pkcs7-mime; smime-type=certs-only')
    // openssl read the certs-only structure: only the certificate that was issued (RFC 7030 4.2.3).
    const printed = (answer.chainPem ?? '').match(/-----BEGIN CERTIFICATE-----/g) ?? []
    assert.equal(printed.length, 1)
    const leaf = new X509Certificate(answer.certPem as string)
    assert.match(leaf.subject, /CN=a:renewapp/)
    assert.ok(leaf.checkIssued(new X509Certificate(stack.caPem)))
    const renewed = (await registry().store.list('demo', 'issued')).find(r => r.fingerprint === leaf.fingerprint256.replaceAll(':', '').toLowerCase())
    assert.equal(renewed?.replaces, old.id, 'the new record names the certificate it replaces')

    // Not used yet: nothing is due, the old certificate keeps working past the grace.
    await sleep(GRACE_MS + 500)
    assert.equal(await closed(oldSession, 10), false)
    assert.equal(registry().require('demo').revocations.some(r => r.certId === old.id), false)

    const usedAt = Date.now()
    const newSession = await connect(mqttAs(answer.certPem as string, answer.keyPem as string, 'a:demo:renewapp:2'))
    assert.equal(await closed(oldSession, GRACE_MS + 8000), true, 'the old certificate\'s live session is closed')
    assert.ok(Date.now() - usedAt >= GRACE_MS - 100, 'not before the grace')
    const refused = await tryConnect(mqttAs(old.certPem, readKey('app-old'), 'a:demo:renewapp:1'))
    assert.deepEqual(refused.outcome === 'connack' ? refused.returnCode : refused.outcome, 5)
    assert.equal(auditLines('cert.retire', old.id).length, 1)
    assert.equal(auditLines('cert.revoke', old.id).length, 1)
    assert.equal(await closed(newSession, 10), false, 'the new certificate stays connected')
    await endAll(newSession, oldSession)
  })

  it('counts an HTTPS request as the first use: the old certificate is refused by the temps API after the grace', async () => {
    await setRenewalWindow(registry(), 'demo', 'any', 'test')
    const old = await issued('dev-old', 'd:sensor:h1')
    const answer = await renewWith('dev-old', 'd:sensor:h1', 'dev-new')
    assert.equal(answer.status, 200, JSON.stringify(answer.body))
    assert.equal(await curlTemps('dev-old'), '200')
    assert.equal(await curlTemps('dev-new'), '200')
    // A device that crashed mid-swap comes back with the old certificate during the grace.
    assert.equal(await curlTemps('dev-old'), '200')
    await within(GRACE_MS + 8000, async () => await curlTemps('dev-old') === '403' ? true : undefined)
    assert.equal(lastCurlBody().error.code, 'BROKER_ERR_CERT_REVOKED')
    assert.equal(await curlTemps('dev-new'), '200')
    assert.equal(auditLines('cert.retire', old.id).length, 1)
  })

  describe('refusals, each for its own reason', () => {
    it('refuses a certificate not yet in the organisation\'s renewal window (CERTS_ERR_RENEW_TOO_EARLY), and renews it once the window allows', async () => {
      await issued('early', 'd:sensor:e1')
      await setRenewalWindow(registry(), 'demo', '30%', 'test')
      const refused = await renewWith('early', 'd:sensor:e1', 'early-new')
      assert.equal(refused.status, 403)
      assert.equal(refused.body.error.code, 'CERTS_ERR_RENEW_TOO_EARLY')
      await setRenewalWindow(registry(), 'demo', 'any', 'test')
      assert.equal((await renewWith('early', 'd:sensor:e1', 'early-new')).status, 200)
    })

    it('refuses a CSR for another subject (CERTS_ERR_RENEW_SUBJECT_MISMATCH), and renews the same certificate for its own', async () => {
      await setRenewalWindow(registry(), 'demo', 'any', 'test')
      await issued('subj', 'd:sensor:m1')
      const refused = await renewWith('subj', 'd:sensor:other', 'subj-new')
      assert.equal(refused.status, 400)
      assert.equal(refused.body.error.code, 'CERTS_ERR_RENEW_SUBJECT_MISMATCH')
      assert.equal((await renewWith('subj', 'd:sensor:m1', 'subj-new')).status, 200)
    })

    it('refuses a revoked certificate at the identity path (403 BROKER_ERR_CERT_REVOKED), and renews it once restored', async () => {
      await setRenewalWindow(registry(), 'demo', 'any', 'test')
      const record = await issued('revoked', 'd:sensor:v1')
      await revokeCert(registry(), 'demo', record.id, 'test')
      const refused = await renewWith('revoked', 'd:sensor:v1', 'revoked-new')
      assert.equal(refused.status, 403)
      assert.equal(refused.body.error.code, 'BROKER_ERR_CERT_REVOKED')
      await restoreCert(registry(), 'demo', record.id, 'test')
      assert.equal((await renewWith('revoked', 'd:sensor:v1', 'revoked-new')).status, 200)
    })

    it('refuses a trusted certificate that is not on the record (CERTS_ERR_RENEW_NOT_ISSUED)', async () => {
      await setRenewalWindow(registry(), 'demo', 'any', 'test')
      const offRecord = stack.issue('d:sensor:n1')
      writeFileSync(path.join(temp.dir, 'norecord.crt'), offRecord.certPem)
      writeFileSync(path.join(temp.dir, 'norecord.key'), offRecord.keyPem)
      assert.equal(await curlTemps('norecord'), '200', 'the identity path accepts it')
      const refused = await renewWith('norecord', 'd:sensor:n1', 'norecord-new')
      assert.equal(refused.status, 403)
      assert.equal(refused.body.error.code, 'CERTS_ERR_RENEW_NOT_ISSUED')
    })
  })

  function readKey (name: string): string {
    return readFileSync(path.join(temp.dir, `${name}.key`), 'utf8')
  }

  /** GET /temps with `<name>.crt` (curl, asynchronously: the server answers from this process); the HTTP status; the body is kept in curl-body.json. */
  async function curlTemps (name: string): Promise<string> {
    const { stdout } = await promisify(execFile)('curl', ['-sS', '--cacert', 'ca.pem', '--cert', `${name}.crt`, '--key', `${name}.key`, '--resolve', `${HOST}:${stack.apiPort}:127.0.0.1`,
      '-o', 'curl-body.json', '-w', '%{http_code}', `https://${HOST}:${stack.apiPort}/temps`], { cwd: temp.dir, encoding: 'utf8' })
    return stdout
  }

  function lastCurlBody (): any {
    return JSON.parse(readFileSync(path.join(temp.dir, 'curl-body.json'), 'utf8'))
  }
})
