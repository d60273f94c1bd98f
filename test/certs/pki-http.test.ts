import assert from 'node:assert/strict'
import http from 'node:http'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { adminCaFile, BLOB_PREFIX, issueClientCert, listIssued, managedCaOf, revokeCert } from '../../certs/index.js'
import { OcspSigners } from '../../certs/ocsp/ocsp-signers.js'
import { openssl } from '../support/openssl.js'
import { mqgateCli, runCommand, showResult } from '../support/mqgate-cli.js'
import { freePort } from '../support/redis-server.js'
import { ADMIN_TOKEN, startTestStack, type TestStack } from '../support/stack.js'

/**
 * Issue 16: what the managed CAs sign names the PKI HTTP port (the OCSP
 * responder in authorityInfoAccess, the CRL in cRLDistributionPoints, both
 * http://), the CRL is served there, and the responder's delegated signer is
 * a certificate on the record whose key is sealed at rest.
 */

async function httpGet (port: number, urlPath: string): Promise<{ status: number, body: Buffer }> {
  return await new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: urlPath }, res => {
      const chunks: Buffer[] = []
      res.on('data', chunk => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }))
    }).on('error', reject)
  })
}

describe('certs: the PKI HTTP port in what the managed CAs sign, and the OCSP signer on the record', function () {
  this.timeout(60_000)
  let stack: TestStack
  let pkiPort: number

  before(async () => {
    pkiPort = await freePort()
    stack = await startTestStack({ MQGATE_PKI_HTTP_PORT: String(pkiPort) })
  })
  after(async () => await stack?.close())

  it('names the OCSP responder (AIA) and the CRL (CDP) on the PKI HTTP port in a newly issued certificate', async () => {
    const issued = await issueClientCert(stack.running.registry, 'demo', { commonName: 'd:sensor:aia-1' }, 'test')
    const text = openssl(['x509', '-noout', '-text'], { input: issued.record.certPem })
    assert.match(text, new RegExp(`OCSP - URI:http://demo\\.messaging\\.localhost:${pkiPort}/ocsp/demo\\b`), text)
    assert.match(text, new RegExp(`URI:http://demo\\.messaging\\.localhost:${pkiPort}/crl/demo\\.crl\\b`), text)
  })

  it('serves the CRL there: openssl verify -crl_check passes, and fails once the certificate is revoked', async () => {
    const issued = await issueClientCert(stack.running.registry, 'demo', { commonName: 'd:sensor:crl-1' }, 'test')
    const caFile = stack.writeFile('ca.pem', stack.caPem)
    const certFile = stack.writeFile('crl-1.crt', issued.record.certPem)
    const verify = async (): Promise<string> => {
      const crl = await httpGet(pkiPort, '/crl/demo.crl')
      assert.equal(crl.status, 200)
      const derFile = stack.writeFile('served.crl', '')
      await writeFile(derFile, crl.body)
      const run = await runCommand('openssl', ['verify', '-crl_check', '-CRLfile', derFile, '-CAfile', caFile, certFile])
      return run.stdout + run.stderr
    }
    assert.match(await verify(), /: OK/)
    await revokeCert(stack.running.registry, 'demo', issued.record.serial, 'test')
    assert.match(await verify(), /certificate revoked/)
  })

  it('signs with a delegated OCSP signer issued by the CA: on the record (cert list --all), its key sealed at rest', async () => {
    const issued = await issueClientCert(stack.running.registry, 'demo', { commonName: 'd:sensor:signer-1' }, 'test')
    const caFile = stack.writeFile('ca.pem', stack.caPem)
    const certFile = stack.writeFile('signer-1.crt', issued.record.certPem)
    const asked = await runCommand('openssl', ['ocsp', '-issuer', caFile, '-cert', certFile, '-url', `http://127.0.0.1:${pkiPort}/ocsp/demo`, '-CAfile', caFile, '-resp_text'])
    assert.match(asked.stderr, /Response verify OK/, showResult(asked))
    // The response carries its signer's certificate (RFC 6960 4.2.2.2), which -resp_text prints.
    const signer = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/.exec(asked.stdout)?.[0] ?? ''
    const facts = openssl(['x509', '-noout', '-text', '-fingerprint', '-sha256'], { input: signer })
    assert.match(facts, /Extended Key Usage: *\n *OCSP Signing/, facts)
    assert.match(facts, /OCSP No Check/, facts)
    const fingerprint = (/sha256 Fingerprint=([0-9A-F:]+)/i.exec(facts)?.[1] ?? '').replaceAll(':', '').toLowerCase()

    const listed = await mqgateCli(['cert', 'list', 'demo', '--all', '--json'], { url: `https://127.0.0.1:${stack.adminPort}`, caFile: adminCaFile(stack.dataDir), token: ADMIN_TOKEN })
    assert.equal(listed.status, 0, showResult(listed))
    const record = (JSON.parse(listed.stdout).certificates as Array<Record<string, unknown>>).find(c => c.fingerprint_sha256 === fingerprint)
    assert.equal(record?.kind, 'ocsp-signer', `the signer that signed the response is listed as kind ocsp-signer: ${listed.stdout}`)

    const casDir = path.join(stack.dataDir, 'orgs', 'demo', 'cas')
    const stored = await Promise.all((await readdir(casDir)).filter(n => n.endsWith('.json')).map(async n => JSON.parse(await readFile(path.join(casDir, n), 'utf8'))))
    const ca = stored.find(r => r.ocspSignerCertPem !== undefined)
    assert.ok(ca !== undefined, 'the signer is kept on the managed CA\'s record')
    // Compared as booleans: a failing assert must not print a private key.
    assert.ok(typeof ca.ocspSignerKeyPem === 'string' && ca.ocspSignerKeyPem.startsWith(BLOB_PREFIX), 'the signer\'s key is a sealed blob in the store')
    assert.ok(!JSON.stringify(stored).includes('PRIVATE KEY'), 'no private key in the clear in the CA records')
  })

  it('renews the delegated signer once less than a third of its 30 days remains, through the issuance path', async () => {
    const DAY = 24 * 60 * 60 * 1000
    const registry = stack.running.registry
    const signers = new OcspSigners(registry, stack.logs.logger)
    const first = await signers.current('demo')
    assert.equal((await signers.current('demo', new Date(Date.now() + 19 * DAY))).certPem, first.certPem, 'eleven days left: kept')
    const renewed = await signers.current('demo', new Date(Date.now() + 21 * DAY))
    assert.notEqual(renewed.certPem, first.certPem, 'nine days left: renewed')
    assert.equal(managedCaOf(registry.require('demo')).ocspSignerCertPem, renewed.certPem, 'the CA record keeps the new signer')
    const recorded = (await listIssued(registry, 'demo', { all: true })).filter(r => r.kind === 'ocsp-signer').map(r => r.certPem)
    assert.ok(recorded.includes(first.certPem) && recorded.includes(renewed.certPem), 'both signers are on the record')
  })

  it('replaces a delegated signer an operator revoked at the next response', async () => {
    const registry = stack.running.registry
    const signers = new OcspSigners(registry, stack.logs.logger)
    const before = await signers.current('demo')
    const record = (await listIssued(registry, 'demo', { all: true })).find(r => r.certPem === before.certPem)
    assert.ok(record !== undefined)
    await revokeCert(registry, 'demo', record.serial, 'test')
    const after = await signers.current('demo')
    assert.notEqual(after.certPem, before.certPem)
  })
})
