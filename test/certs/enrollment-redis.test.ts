import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { createCsr, generateKeyPair, RedisRegistryStore, type IssuedCertRecord } from '../../certs/index.js'
import { TEST_KEK } from '../support/kek.js'
import { assertExitedZero, cliJson } from '../support/mqgate-cli.js'
import { startMqgateProcess, type MqgateProcess } from '../support/mqgate-process.js'
import { redisServerAvailable, startTestRedis, type TestRedis } from '../support/redis-server.js'
import type { TestCert } from '../support/pki.js'
import { httpsRequest } from '../support/stack.js'
import { makeTempDir } from '../support/temp-dir.js'

/**
 * Issue 13 on Redis: two mqgate processes share one registry, and devices
 * enroll through both at once. A claim's --max-uses and a token's single use
 * hold across them, because each use is taken by a compare-and-set in Redis
 * (RegistryStore.swap), not by a read and a write.
 */
describe('EST enrollment on Redis with two mqgate processes', function () {
  this.timeout(120_000)
  let redis: TestRedis
  let temp: { dir: string, remove: () => Promise<void> }
  const processes: MqgateProcess[] = []

  before(async function () {
    if (!redisServerAvailable()) this.skip()
    redis = await startTestRedis()
    temp = await makeTempDir('enrollment-redis')
    // One after the other: the first start makes the demo organisation and the admin credentials the second one finds.
    for (let i = 0; i < 2; i++) {
      processes.push(await startMqgateProcess({ REDIS_URL: redis.url, MQGATE_KEK: TEST_KEK }, { dataDir: temp.dir, args: ['--workers', '1'] }))
    }
  })
  after(async () => {
    for (const p of processes.splice(0)) await p.stop()
    await redis?.stop()
    await temp?.remove()
  })

  /** A base64 DER PKCS#10 for `commonName` (a fresh P-256 key), as an EST body. */
  function csrFor (commonName: string): string {
    const csrPem = createCsr(generateKeyPair('ec').privateKeyPem, commonName, [])
    return csrPem.replace(/-----[A-Z ]+-----/g, '').trim() + '\n'
  }

  /**
   * simpleenroll on process `p`, from this process (all requests of a test in
   * one tick, so they meet in the two processes at once): the status and the
   * error code, if any.
   */
  async function enrollAt (p: MqgateProcess, csr: string, auth: { cert?: TestCert, token?: string }): Promise<{ status: number, code?: string }> {
    const answer = await httpsRequest(p.apiPort, {
      method: 'POST',
      path: '/.well-known/est/simpleenroll',
      caPem: p.caPem,
      servername: 'demo.messaging.localhost',
      cert: auth.cert,
      body: csr,
      headers: { 'content-type': 'application/pkcs10', ...(auth.token === undefined ? {} : { authorization: `Basic ${Buffer.from(`device:${auth.token}`).toString('base64')}` }) }
    })
    return answer.status === 200 ? { status: 200 } : { status: answer.status, code: answer.body?.error?.code }
  }

  async function issuedNamed (prefix: string): Promise<IssuedCertRecord[]> {
    const store = new RedisRegistryStore(redis.connect())
    try {
      return (await store.list('demo', 'issued')).filter(r => r.commonName.startsWith(prefix))
    } finally {
      await store.close()
    }
  }

  it('enrolls no more devices than a claim\'s --max-uses when they enroll through both processes at once', async () => {
    assertExitedZero(await processes[0].cli(['claim', 'create', 'demo', 'line-1', '--types', 'sensor', '--max-uses', '3', '--out', temp.dir]))
    const cert = { certPem: readFileSync(path.join(temp.dir, 'c_line-1.crt'), 'utf8'), keyPem: readFileSync(path.join(temp.dir, 'c_line-1.key'), 'utf8') }
    const csrs = Array.from({ length: 20 }, (_, i) => csrFor(`d:sensor:line1-${i}`))
    const answers = await Promise.all(csrs.map(async (csr, i) => await enrollAt(processes[i % 2], csr, { cert })))
    assert.equal(answers.filter(a => a.status === 200).length, 3, JSON.stringify(answers))
    assert.deepEqual(answers.filter(a => a.status !== 200).map(a => a.code), Array(17).fill('CERTS_ERR_CLAIM_EXHAUSTED'), JSON.stringify(answers))
    assert.equal((await issuedNamed('d:sensor:line1-')).length, 3, 'three certificates on the record')
    const claim = (await cliJson(processes[1].cli, ['claim', 'list', 'demo'])).claims.find((c: any) => c.name === 'line-1')
    assert.deepEqual([claim.uses, claim.status], [3, 'exhausted'])
  })

  it('enrolls once with a token presented ten times to both processes at once', async () => {
    const { token } = await cliJson(processes[1].cli, ['enroll-token', 'create', 'demo', '--cn', 'd:sensor:tk-1'])
    const answers = await Promise.all(Array.from({ length: 10 }, async (_, i) => await enrollAt(processes[i % 2], csrFor('d:sensor:tk-1'), { token })))
    assert.equal(answers.filter(a => a.status === 200).length, 1, JSON.stringify(answers))
    // The others met the used token or, while the winner was being issued, the identity's lease.
    assert.ok(answers.every(a => a.status === 200 || ['CERTS_ERR_TOKEN_USED', 'CERTS_ERR_ALREADY_ENROLLED'].includes(a.code as string)), JSON.stringify(answers))
    assert.equal((await issuedNamed('d:sensor:tk-1')).length, 1)
  })

  it('lets exactly one of many concurrent compare-and-sets on one record win, across two connections', async () => {
    const stores = [new RedisRegistryStore(redis.connect()), new RedisRegistryStore(redis.connect())]
    try {
      const record = { id: 'cas-probe', types: ['sensor'], uses: 0, expiresAt: new Date(Date.now() + 60_000).toISOString(), certId: 'none', fingerprint: 'none', createdAt: new Date().toISOString(), createdBy: 'test' }
      await stores[0].put('demo', 'claims', record, { quiet: true })
      const expected = await stores[1].get('demo', 'claims', 'cas-probe')
      const wins = await Promise.all(Array.from({ length: 20 }, async (_, i) => await stores[i % 2].swap('demo', 'claims', expected!, { ...expected!, uses: i + 1 })))
      assert.equal(wins.filter(Boolean).length, 1)
      const winner = wins.indexOf(true) + 1
      assert.equal((await stores[0].get('demo', 'claims', 'cas-probe'))?.uses, winner)
    } finally {
      for (const store of stores) await store.close()
    }
  })
})
