import assert from 'node:assert/strict'
import http from 'node:http'
import { readFile, writeFile } from 'node:fs/promises'
import { issueClientCert, managedCaOf, revokeCert, type CaKeyType } from '../../certs/index.js'
import { runCommand, showResult, type CliResult } from '../support/mqgate-cli.js'
import { freePort } from '../support/redis-server.js'
import { startTestStack, type TestStack } from '../support/stack.js'

/**
 * Issue 16: the managed CAs' OCSP responder on the PKI HTTP port, asked by
 * `openssl ocsp` as a relying party asks it (POST), and by plain HTTP GET
 * (RFC 6960 A.1). The response must verify against the CA alone (-CAfile
 * ca.pem): it is signed by the CA's delegated signer, which the CA issued.
 */

interface Device { readonly caFile: string, readonly certFile: string, readonly serial: string }

async function httpRequest (port: number, method: string, path: string, body?: Buffer): Promise<{ status: number, type: string | undefined, body: Buffer }> {
  return await new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers: body === undefined ? {} : { 'content-type': 'application/ocsp-request' } }, res => {
      const chunks: Buffer[] = []
      res.on('data', chunk => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body: Buffer.concat(chunks) }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

describe('certs: the OCSP responder of the managed CAs (MQGATE_PKI_HTTP_PORT)', function () {
  this.timeout(60_000)
  let stack: TestStack
  let pkiPort: number

  before(async () => {
    pkiPort = await freePort()
    stack = await startTestStack({ MQGATE_PKI_HTTP_PORT: String(pkiPort) })
  })
  after(async () => await stack?.close())

  const url = (orgId: string): string => `http://127.0.0.1:${pkiPort}/ocsp/${orgId}`

  async function device (orgId: string, name: string): Promise<Device> {
    const issued = await issueClientCert(stack.running.registry, orgId, { commonName: `d:sensor:${name}` }, 'test')
    return {
      caFile: stack.writeFile(`${orgId}-ca.pem`, managedCaOf(stack.running.registry.require(orgId)).certPem),
      certFile: stack.writeFile(`${name}.crt`, issued.record.certPem),
      serial: issued.record.serial
    }
  }

  /** `digest`: the CertID's hash (openssl's default is SHA-1); it must come before -cert. */
  async function ask (orgId: string, d: Device, digest: string[] = []): Promise<CliResult> {
    return await runCommand('openssl', ['ocsp', '-issuer', d.caFile, ...digest, '-cert', d.certFile, '-url', url(orgId), '-CAfile', d.caFile])
  }

  const statusOf = (run: CliResult, d: Device): string => new RegExp(`^${d.certFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: (\\w+)`, 'm').exec(run.stdout)?.[1] ?? `none (${showResult(run)})`

  for (const keyType of ['rsa', 'p256', 'ed25519'] as CaKeyType[]) {
    it(`answers good, then revoked with its time after cert revoke, verified against the CA (${keyType} managed CA)`, async () => {
      const orgId = keyType === 'rsa' ? 'demo' : `ocsp-${keyType}`
      if (stack.running.registry.get(orgId) === undefined) await stack.running.registry.createOrg(orgId, [], 'test', { caKeyType: keyType })
      const d = await device(orgId, `${keyType}-1`)
      const good = await ask(orgId, d)
      assert.equal(statusOf(good, d), 'good')
      assert.match(good.stderr, /Response verify OK/, showResult(good))
      // openssl sends a nonce and only warns when the response does not echo it.
      assert.doesNotMatch(good.stderr, /no nonce in response/i, showResult(good))
      await revokeCert(stack.running.registry, orgId, d.serial, 'test')
      const revoked = await ask(orgId, d)
      assert.equal(statusOf(revoked, d), 'revoked', 'the revocation shows in the very next response')
      assert.match(revoked.stdout, /Revocation Time: /, showResult(revoked))
      assert.match(revoked.stderr, /Response verify OK/, showResult(revoked))
    })
  }

  it('answers unknown for a serial its CA did not issue, and for a certificate of another CA', async () => {
    // Signed with the demo CA's key but never recorded: not one the CA issued.
    const offRecord = stack.issue('d:sensor:off-record')
    const d = { caFile: stack.writeFile('demo-ca.pem', stack.caPem), certFile: stack.writeFile('off-record.crt', offRecord.certPem), serial: '' }
    const run = await ask('demo', d)
    assert.equal(statusOf(run, d), 'unknown')
    assert.match(run.stderr, /Response verify OK/, showResult(run))
    // Another organisation's certificate at demo's responder: its CertID names another issuer.
    if (stack.running.registry.get('other') === undefined) await stack.running.registry.createOrg('other')
    const foreign = await device('other', 'foreign-1')
    const asked = await runCommand('openssl', ['ocsp', '-issuer', foreign.caFile, '-cert', foreign.certFile, '-url', url('demo'), '-VAfile', d.caFile, '-CAfile', d.caFile])
    assert.equal(statusOf(asked, foreign), 'unknown')
  })

  it('matches a CertID hashed with SHA-256 as well as SHA-1', async () => {
    const d = await device('demo', 'sha256-1')
    const run = await ask('demo', d, ['-sha256'])
    assert.equal(statusOf(run, d), 'good')
    assert.match(run.stderr, /Response verify OK/, showResult(run))
  })

  it('answers the GET form, /ocsp/<org>/<url-encoded base64 request>', async () => {
    const d = await device('demo', 'get-1')
    // Without a nonce (the cacheable form RFC 5019 expects of GET), and with one (a longer path).
    for (const nonce of [['-no_nonce'], []]) {
      const reqFile = stack.writeFile('get.req', '')
      const made = await runCommand('openssl', ['ocsp', '-issuer', d.caFile, '-cert', d.certFile, ...nonce, '-reqout', reqFile])
      assert.equal(made.status, 0, showResult(made))
      const encoded = encodeURIComponent((await readFile(reqFile)).toString('base64'))
      const answer = await httpRequest(pkiPort, 'GET', `/ocsp/demo/${encoded}`)
      assert.equal(answer.status, 200, `GET of ${encoded.length} characters: ${answer.body.toString()}`)
      assert.equal(answer.type, 'application/ocsp-response')
      const respFile = stack.writeFile('get.resp', '')
      await writeFile(respFile, answer.body)
      // -reqin: openssl checks that the response echoes the request's nonce.
      const read = await runCommand('openssl', ['ocsp', '-respin', respFile, '-reqin', reqFile, '-CAfile', d.caFile, '-resp_text'])
      assert.match(read.stdout, /Cert Status: good/, showResult(read))
      assert.match(read.stderr, /Response verify OK/, showResult(read))
      assert.doesNotMatch(read.stderr, /nonce/i, showResult(read))
    }
  })

  it('serves a kept response to the same request without a nonce, and a fresh one once the certificate is revoked', async () => {
    const d = await device('demo', 'cached-1')
    const reqFile = stack.writeFile('cached.req', '')
    const made = await runCommand('openssl', ['ocsp', '-issuer', d.caFile, '-cert', d.certFile, '-no_nonce', '-reqout', reqFile])
    assert.equal(made.status, 0, showResult(made))
    const path = `/ocsp/demo/${encodeURIComponent((await readFile(reqFile)).toString('base64'))}`
    const first = await httpRequest(pkiPort, 'GET', path)
    const again = await httpRequest(pkiPort, 'GET', path)
    assert.ok(first.body.equals(again.body), 'the same response (producedAt included) is served again')
    await revokeCert(stack.running.registry, 'demo', d.serial, 'test')
    const after = await httpRequest(pkiPort, 'GET', path)
    const respFile = stack.writeFile('cached.resp', '')
    await writeFile(respFile, after.body)
    const read = await runCommand('openssl', ['ocsp', '-respin', respFile, '-CAfile', d.caFile, '-resp_text'])
    assert.match(read.stdout, /Cert Status: revoked/, showResult(read))
  })

  it('answers malformedRequest to a body that is no OCSP request, and 404 for an organisation that does not exist', async () => {
    const answer = await httpRequest(pkiPort, 'POST', '/ocsp/demo', Buffer.from('not an OCSP request'))
    assert.equal(answer.status, 200)
    assert.equal(answer.type, 'application/ocsp-response')
    const respFile = stack.writeFile('bad.resp', '')
    await writeFile(respFile, answer.body)
    const read = await runCommand('openssl', ['ocsp', '-respin', respFile, '-resp_text', '-noverify'])
    assert.match(read.stdout, /Responder Error: malformedrequest \(1\)/, showResult(read))
    const missing = await httpRequest(pkiPort, 'POST', '/ocsp/nosuchorg', Buffer.from('x'))
    assert.equal(missing.status, 404)
  })
})
