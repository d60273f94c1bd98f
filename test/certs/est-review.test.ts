import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { createClaim, createEnrollToken, issueClientCert, setRenewalWindow } from '../../certs/index.js'
import { assertExitedZero, runCommand } from '../support/mqgate-cli.js'
import { httpsRequest, startTestStack, type TestStack } from '../support/stack.js'
import { makeTempDir } from '../support/temp-dir.js'

/**
 * Issue 13's EST routes under attack: what a device (or whoever holds a
 * token or a claim) can make the CA sign, and what a malformed request does.
 */

const SNI = 'demo.messaging.localhost'

describe('EST enrollment refuses what it must not sign', function () {
  this.timeout(60_000)
  let stack: TestStack
  let temp: { dir: string, remove: () => Promise<void> }

  before(async () => {
    stack = await startTestStack()
    temp = await makeTempDir('est-review')
  })
  after(async () => {
    await stack?.close()
    await temp?.remove()
  })

  /** A DER CSR for `commonName` made by `openssl req` with `args` (key options, -addext ...), base64. */
  async function csrBase64 (name: string, commonName: string, args: readonly string[]): Promise<string> {
    assertExitedZero(await runCommand('openssl', ['req', '-new', ...args, '-nodes', '-keyout', `${name}.key`, '-subj', `/CN=${commonName}`, '-outform', 'DER', '-out', `${name}.csr`], { cwd: temp.dir }))
    return readFileSync(path.join(temp.dir, `${name}.csr`)).toString('base64')
  }

  async function withToken (commonName: string, body: string | Buffer, given?: string): Promise<{ status: number, body: any, text: string }> {
    const token = given ?? (await createEnrollToken(stack.running.registry, 'demo', { commonName }, 'test')).token
    return await httpsRequest(stack.apiPort, {
      method: 'POST',
      path: '/.well-known/est/simpleenroll',
      caPem: stack.caPem,
      servername: SNI,
      headers: { 'content-type': 'application/pkcs10', authorization: `Basic ${Buffer.from(`device:${token}`).toString('base64')}` },
      body
    })
  }

  /** The leaf of a certs-only answer, by `openssl pkcs7 -print_certs`. */
  async function leafOf (answerBase64: string, name: string): Promise<X509Certificate> {
    const p7 = path.join(temp.dir, `${name}.p7`)
    writeFileSync(p7, Buffer.from(answerBase64, 'base64'))
    const printed = await runCommand('openssl', ['pkcs7', '-inform', 'DER', '-in', p7, '-print_certs'], { cwd: temp.dir })
    assertExitedZero(printed)
    return new X509Certificate(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(printed.stdout)?.[0] ?? '')
  }

  it('signs none of a CSR\'s requested extensions: no CA:TRUE, no serverAuth, no SAN', async () => {
    const csr = await csrBase64('ext', 'd:sensor:ext-1', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'extendedKeyUsage=serverAuth,clientAuth', '-addext', 'subjectAltName=DNS:demo.messaging.localhost',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature'])
    const answer = await withToken('d:sensor:ext-1', csr)
    assert.equal(answer.status, 200, answer.text)
    const leaf = await leafOf(answer.text, 'ext')
    assert.equal(leaf.ca, false)
    assert.equal(leaf.subjectAltName, undefined)
    assert.equal(leaf.subject, 'CN=d:sensor:ext-1')
    assert.deepEqual(leaf.keyUsage, ['1.3.6.1.5.5.7.3.2'])
  })

  it('refuses a CSR for an RSA key under 2048 bits, as it refuses such a CA (CERTS_ERR_KEY_TOO_SMALL)', async () => {
    const csr = await csrBase64('rsa1024', 'd:sensor:weak-1', ['-newkey', 'rsa:1024'])
    const answer = await withToken('d:sensor:weak-1', csr)
    assert.equal(answer.status, 400, answer.text)
    assert.equal(answer.body?.error?.code, 'CERTS_ERR_KEY_TOO_SMALL', answer.text)
  })

  it('refuses a weak key before the token is spent or the identity held: the same token then enrolls a strong key', async () => {
    const { token } = await createEnrollToken(stack.running.registry, 'demo', { commonName: 'd:sensor:weak-3' }, 'test')
    const weak = await withToken('d:sensor:weak-3', await csrBase64('rsa1024b', 'd:sensor:weak-3', ['-newkey', 'rsa:1024']), token)
    assert.equal(weak.body?.error?.code, 'CERTS_ERR_KEY_TOO_SMALL', weak.text)
    const strong = await withToken('d:sensor:weak-3', await csrBase64('p256b', 'd:sensor:weak-3', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']), token)
    assert.equal(strong.status, 200, strong.text)
  })

  it('refuses a weak key at simplereenroll before the renewal is held: the next try with a strong key renews at once', async () => {
    await setRenewalWindow(stack.running.registry, 'demo', 'any', 'test')
    const current = await issueClientCert(stack.running.registry, 'demo', { commonName: 'd:sensor:renew-weak' }, 'test')
    const cert = { certPem: current.record.certPem, keyPem: current.keyPem as string }
    const reenroll = async (body: string): Promise<{ status: number, body: any, text: string }> => await httpsRequest(stack.apiPort, {
      method: 'POST', path: '/.well-known/est/simplereenroll', caPem: stack.caPem, servername: SNI, cert, headers: { 'content-type': 'application/pkcs10' }, body
    })
    const weak = await reenroll(await csrBase64('rw1', 'd:sensor:renew-weak', ['-newkey', 'rsa:1024']))
    assert.equal(weak.body?.error?.code, 'CERTS_ERR_KEY_TOO_SMALL', weak.text)
    const strong = await reenroll(await csrBase64('rw2', 'd:sensor:renew-weak', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']))
    assert.equal(strong.status, 200, strong.text)
  })

  it('leaves one live replacement when a certificate asks to renew many times at once (the lease holds within one process; later asks are retries, at most three)', async () => {
    await setRenewalWindow(stack.running.registry, 'demo', 'any', 'test')
    const current = await issueClientCert(stack.running.registry, 'demo', { commonName: 'd:sensor:renew-race' }, 'test')
    const cert = { certPem: current.record.certPem, keyPem: current.keyPem as string }
    const csr = await csrBase64('race', 'd:sensor:renew-race', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'])
    const answers = await Promise.all(Array.from({ length: 12 }, async () => await httpsRequest(stack.apiPort, {
      method: 'POST', path: '/.well-known/est/simplereenroll', caPem: stack.caPem, servername: SNI, cert, headers: { 'content-type': 'application/pkcs10' }, body: csr
    })))
    const statuses = `statuses: ${answers.map(a => a.status).join(' ')}`
    const replacements = (await stack.running.registry.store.list('demo', 'issued')).filter(r => r.replaces === current.record.id)
    // Each ask that was not refused outright (the lease held, or the bound) got its own replacement; a later one revokes the earlier, unused one (renewal-retry.ts).
    assert.ok(replacements.length >= 1 && replacements.length <= 3, statuses)
    assert.equal(answers.filter(a => a.status === 200).length, replacements.length, statuses)
    const revoked = new Set(stack.running.registry.require('demo').revocations.map(r => r.certId))
    assert.equal(replacements.filter(r => !revoked.has(r.id)).length, 1, `live replacements; ${statuses}`)
  })

  it('enrolls an identity once when many tokens for it are used at once', async () => {
    const tokens = await Promise.all(Array.from({ length: 10 }, async () => (await createEnrollToken(stack.running.registry, 'demo', { commonName: 'd:sensor:dup-1' }, 'test')).token))
    const csr = await csrBase64('dup', 'd:sensor:dup-1', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'])
    const answers = await Promise.all(tokens.map(async token => await withToken('d:sensor:dup-1', csr, token)))
    const issued = (await stack.running.registry.store.list('demo', 'issued')).filter(r => r.commonName === 'd:sensor:dup-1')
    assert.equal(issued.length, 1, `statuses: ${answers.map(a => a.status).join(' ')}`)
  })

  it('refuses a CSR for an EC key on a curve outside P-256/384/521 (CERTS_ERR_KEY_UNSUPPORTED)', async () => {
    const csr = await csrBase64('k1', 'd:sensor:weak-2', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:secp256k1'])
    const answer = await withToken('d:sensor:weak-2', csr)
    assert.equal(answer.status, 400, answer.text)
    assert.equal(answer.body?.error?.code, 'CERTS_ERR_KEY_UNSUPPORTED', answer.text)
  })

  it('answers a deeply nested DER body with a 400 and keeps serving', async () => {
    // 20,000 nested SEQUENCEs with definite lengths: a recursive decoder's stack, in 64 KiB.
    let der = Buffer.alloc(0)
    for (let i = 0; i < 15_000; i++) {
      const len = der.length
      const header = len < 128 ? Buffer.from([0x30, len]) : len < 256 ? Buffer.from([0x30, 0x81, len]) : Buffer.from([0x30, 0x82, len >> 8, len & 0xff])
      der = Buffer.concat([header, der])
      if (der.length > 45_000) break
    }
    const answer = await withToken('d:sensor:deep-1', der.toString('base64'))
    assert.ok(answer.status >= 400 && answer.status < 500, answer.text)
    const again = await httpsRequest(stack.apiPort, { path: '/.well-known/est/cacerts', caPem: stack.caPem, servername: SNI })
    assert.equal(again.status, 200)
  })

  it('answers a simpleenroll without a body with CERTS_ERR_CSR_UNPARSABLE (400), as simplereenroll does', async () => {
    const answer = await withToken('d:sensor:empty-1', '')
    assert.equal(answer.status, 400, answer.text)
    assert.equal(answer.body?.error?.code, 'CERTS_ERR_CSR_UNPARSABLE', answer.text)
  })

  it('refuses a claim certificate on simplereenroll: a claim is no identity', async () => {
    const { issued } = await createClaim(stack.running.registry, 'demo', { name: 'rev-1', types: ['sensor'] }, 'test')
    const csr = await csrBase64('claimre', 'c:rev-1', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'])
    const answer = await httpsRequest(stack.apiPort, {
      method: 'POST',
      path: '/.well-known/est/simplereenroll',
      caPem: stack.caPem,
      servername: SNI,
      cert: { certPem: issued.record.certPem, keyPem: issued.keyPem as string },
      headers: { 'content-type': 'application/pkcs10' },
      body: csr
    })
    assert.equal(answer.status, 403, answer.text)
  })
})
