import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import tls from 'node:tls'
import { startTestGateway, type TestGateway } from '../support/gateway.js'
import { makeTempDir } from '../support/temp-dir.js'

async function handshake (gw: TestGateway, options: tls.ConnectionOptions): Promise<{ ok: boolean, socket?: tls.TLSSocket, error?: string }> {
  const cert = gw.issue('acme', 'd:sensor:tls')
  return await new Promise(resolve => {
    const socket = tls.connect({ host: '127.0.0.1', port: gw.port, servername: gw.serverName('acme'), ca: gw.caOf('acme'), cert: cert.certPem, key: cert.keyPem, ...options }, () => resolve({ ok: true, socket }))
    socket.once('error', err => resolve({ ok: false, error: err.message }))
  })
}

describe('hardening: TLS configuration', function () {
  this.timeout(600_000)
  let gw: TestGateway

  before(async () => { gw = await startTestGateway({ orgs: ['acme'] }) })
  after(async () => await gw.close())

  it('refuses TLS 1.1 and older', async () => {
    const result = await handshake(gw, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1' })
    assert.equal(result.ok, false)
  })

  it('prefers TLS 1.3 and offers only forward-secret AEAD suites on TLS 1.2', async () => {
    const modern = await handshake(gw, {})
    assert.equal(modern.socket?.getProtocol(), 'TLSv1.3')
    modern.socket?.destroy()
    for (const weak of ['AES128-SHA', 'AES256-GCM-SHA384', 'ECDHE-ECDSA-AES128-SHA256', 'ECDHE-ECDSA-AES256-SHA', 'ECDHE-RSA-AES128-SHA256', 'DHE-RSA-AES128-GCM-SHA256']) {
      const result = await handshake(gw, { maxVersion: 'TLSv1.2', ciphers: weak })
      assert.equal(result.ok, false, `${weak} refused`)
    }
    const good = await handshake(gw, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' })
    assert.equal(good.ok, true)
    good.socket?.destroy()
  })

  it('refuses a client-initiated renegotiation', async () => {
    const result = await handshake(gw, { maxVersion: 'TLSv1.2' })
    assert.equal(result.ok, true)
    const outcome = await new Promise<string>(resolve => {
      result.socket?.once('error', err => resolve(`error: ${err.message}`))
      result.socket?.once('close', () => resolve('closed'))
      const accepted = result.socket?.renegotiate({ rejectUnauthorized: false }, err => resolve(err === null ? 'renegotiated' : `refused: ${err.message}`))
      if (accepted === false) resolve('refused locally')
    })
    assert.notEqual(outcome, 'renegotiated')
    result.socket?.destroy()
  })

  it('leaves testssl.sh with no finding of severity MEDIUM or above', async function () {
    const testssl = ['testssl', 'testssl.sh'].find(cmd => spawnSync(cmd, ['--version']).status === 0)
    if (testssl === undefined) {
      console.log('      (skipped: testssl.sh is not installed; .ci/run installs it)')
      this.skip()
    }
    const temp = await makeTempDir('testssl')
    try {
      const caFile = path.join(temp.dir, 'ca.pem')
      const report = path.join(temp.dir, 'report.json')
      writeFileSync(caFile, gw.caOf('acme'))
      const target = `${gw.serverName('acme')}:${gw.port}`
      // Asynchronously: the listener under test runs in this process.
      const status = await new Promise<number | null>(resolve => {
        const child = spawn(testssl as string, ['--quiet', '--color', '0', '--warnings', 'off', '--add-ca', caFile, '--ip', '127.0.0.1', '--severity', 'MEDIUM', '--jsonfile', report, target], { stdio: 'ignore' })
        const timer = setTimeout(() => child.kill('SIGKILL'), 540_000)
        child.once('close', code => { clearTimeout(timer); resolve(code) })
      })
      assert.ok(status !== null, 'testssl finished')
      const findings = (JSON.parse(readFileSync(report, 'utf8')) as Array<{ id: string, severity: string, finding: string }>)
        .filter(f => ['MEDIUM', 'HIGH', 'CRITICAL'].includes(f.severity))
      assert.deepEqual(findings.map(f => `${f.severity} ${f.id}: ${f.finding}`), [])
    } finally {
      await temp.remove()
    }
  })
})
