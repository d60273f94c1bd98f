import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { OcspChecker, type OcspCheckerOptions, type OcspCheckEvent } from '../../access/index.js'
import { FetchAllowList, type CaRecord } from '../../certs/index.js'
import { aiaOcsp, forwardTo, startHttpResponder, startOpensslResponder, writeOcspIndex, type RunningResponder } from '../support/ocsp-responder.js'
import { chainLeaf, chainOcspSigner, chainRoot, type ChainCa, type ChainLeaf } from '../support/openssl-chain.js'
import { craftedResponder, type Tweaks } from '../support/crafted-ocsp.js'
import { createLogSink } from '../support/log-sink.js'
import { freePort } from '../support/redis-server.js'
import { makeTempDir } from '../support/temp-dir.js'

/**
 * The OCSP client alone (access/ocsp/), against `openssl ocsp` and against
 * Node servers that misbehave: what it accepts as an answer, how long it
 * keeps one, and how far it waits. The gateway-level behaviour is in
 * ocsp-check.test.ts.
 */
describe('access: the OCSP client of `ca ocsp on`', function () {
  this.timeout(60_000)
  let temp: { dir: string, remove: () => Promise<void> }
  let ca: ChainCa
  let stranger: ChainCa
  let responder: RunningResponder
  let forger: RunningResponder
  let undelegated: RunningResponder
  const leaves: Record<string, ChainLeaf> = {}
  const ports = { openssl: 0, forger: 0, undelegated: 0 }
  const record = (crlPolicy: 'open' | 'closed'): CaRecord => ({ id: 'ca1', kind: 'uploaded', crlPolicy, ocspCheck: true } as unknown as CaRecord)

  before(async () => {
    temp = await makeTempDir('ocsp-checker')
    ports.openssl = await freePort()
    ports.forger = await freePort()
    ports.undelegated = await freePort()
    ca = chainRoot(temp.dir, 'ocsp-unit-ca')
    stranger = chainRoot(temp.dir, 'unrelated-ca')
    const signer = chainOcspSigner(ca, temp.dir, 'ocsp-unit-signer')
    const at = (port: number): string => aiaOcsp(`http://127.0.0.1:${port}`)
    leaves.good = chainLeaf(ca, temp.dir, 'good', 'd:sensor:good', at(ports.openssl))
    leaves.revoked = chainLeaf(ca, temp.dir, 'revoked', 'd:sensor:revoked', at(ports.openssl))
    leaves.unknown = chainLeaf(ca, temp.dir, 'unknown', 'd:sensor:unknown', at(ports.openssl))
    leaves.forged = chainLeaf(ca, temp.dir, 'forged', 'd:sensor:forged', at(ports.forger))
    leaves.noUrl = chainLeaf(ca, temp.dir, 'no-url', 'd:sensor:no-url')
    leaves.undelegated = chainLeaf(ca, temp.dir, 'undelegated', 'd:sensor:undelegated', at(ports.undelegated))
    const index = writeOcspIndex(ca, [{ leaf: leaves.good, status: 'V' }, { leaf: leaves.revoked, status: 'R' }, { leaf: leaves.forged, status: 'V' }, { leaf: leaves.undelegated, status: 'V' }])
    responder = await startOpensslResponder({ ca, index, signer, port: ports.openssl })
    // The same database, answered by a responder whose key the CA never certified.
    forger = await startOpensslResponder({ ca, index, signer: stranger, port: ports.forger })
    // A certificate the CA did issue, but for client authentication, not OCSPSigning.
    undelegated = await startOpensslResponder({ ca, index, signer: chainLeaf(ca, temp.dir, 'not-a-responder', 'd:sensor:not-a-responder'), port: ports.undelegated })
  })
  after(async () => {
    await responder?.stop()
    await forger?.stop()
    await undelegated?.stop()
    await temp?.remove()
  })

  const x509 = (pem: string): X509Certificate => new X509Certificate(pem)
  const check = async (checker: OcspChecker, leaf: ChainLeaf, policy: 'open' | 'closed' = 'closed'): Promise<string> => {
    const verdict = await checker.check('demo', record(policy), x509(leaf.certPem), x509(ca.certPem))
    return verdict.ok ? 'good' : verdict.code
  }
  /** Why no answer was usable, as the open policy's warning logs it. */
  const failureReason = async (options: OcspCheckerOptions, leaf: ChainLeaf): Promise<string> => {
    const logs = createLogSink()
    assert.equal(await check(new OcspChecker({ ...options, log: logs.logger }), leaf, 'open'), 'good')
    return String((await logs.waitFor(l => l.event === 'ocsp.unavailable')).reason)
  }
  const withUrl = (name: string, port: number): ChainLeaf => chainLeaf(ca, temp.dir, name, `d:sensor:${name}`, aiaOcsp(`http://127.0.0.1:${port}/`))

  it('reads good, revoked and unknown from openssl ocsp, signed by a delegated responder', async () => {
    const events: OcspCheckEvent[] = []
    const checker = new OcspChecker({ onCheck: e => events.push(e) })
    assert.equal(await check(checker, leaves.good), 'good')
    assert.equal(await check(checker, leaves.revoked), 'BROKER_ERR_CERT_REVOKED')
    assert.equal(await check(checker, leaves.unknown), 'BROKER_ERR_OCSP_UNKNOWN')
    assert.deepEqual(events.map(e => e.outcome), ['good', 'revoked', 'unknown'])
  })

  it('refuses an answer signed by a key the CA never delegated to, whatever status it claims', async () => {
    const events: OcspCheckEvent[] = []
    const checker = new OcspChecker({ onCheck: e => events.push(e) })
    assert.equal(await check(checker, leaves.forged, 'closed'), 'BROKER_ERR_OCSP_UNAVAILABLE')
    assert.deepEqual(events.map(e => e.outcome), ['failed'])
    assert.match(await failureReason({}, leaves.forged), /signer is not authorised|signature does not verify/)
  })

  it('refuses an answer signed by a certificate of the CA that was not delegated OCSPSigning (RFC 6960 4.2.2.2)', async () => {
    assert.equal(await check(new OcspChecker(), leaves.undelegated, 'closed'), 'BROKER_ERR_OCSP_UNAVAILABLE')
    assert.match(await failureReason({}, leaves.undelegated), /signer is not authorised/)
  })

  it('asks the responder once for a certificate checked again (nextUpdate ahead) and for concurrent checks', async () => {
    const proxy = await startHttpResponder(forwardTo(ports.openssl))
    try {
      // Not in the responder's database: answered `unknown`, an answer like any other for the cache.
      const leaf = withUrl('cached', proxy.port)
      const events: OcspCheckEvent[] = []
      const checker = new OcspChecker({ onCheck: e => events.push(e) })
      const concurrent = await Promise.all([check(checker, leaf), check(checker, leaf), check(checker, leaf)])
      const again = await check(checker, leaf)
      assert.deepEqual([...concurrent, again], Array(4).fill('BROKER_ERR_OCSP_UNKNOWN'))
      assert.equal(proxy.requests(), 1)
      assert.deepEqual(events.map(e => e.cached), [false, true, true, true])
      // A new checker has an empty cache: the responder is asked again (the count above is the cache's doing).
      await check(new OcspChecker(), leaf)
      assert.equal(proxy.requests(), 2)
    } finally {
      await proxy.close()
    }
  })

  it('gives up on a responder that never answers within the bound, and the CA policy decides', async () => {
    const silent = await startHttpResponder(() => {})
    try {
      const leaf = withUrl('silent', silent.port)
      const checker = new OcspChecker({ bounds: { timeoutMs: 300, maxBytes: 64 * 1024 }, failureTtlMs: 0 })
      assert.equal(await check(checker, leaf, 'closed'), 'BROKER_ERR_OCSP_UNAVAILABLE')
      assert.equal(await check(checker, leaf, 'open'), 'good')
      assert.equal(silent.requests(), 2)
      assert.match(await failureReason({ bounds: { timeoutMs: 300, maxBytes: 64 * 1024 } }, leaf), /no answer within 300 ms/)
    } finally {
      await silent.close()
    }
  })

  it('keeps a failure briefly: a dead responder is not asked again at once', async () => {
    const silent = await startHttpResponder(() => {})
    try {
      const leaf = withUrl('dead', silent.port)
      const checker = new OcspChecker({ bounds: { timeoutMs: 200, maxBytes: 64 * 1024 } })
      assert.equal(await check(checker, leaf, 'closed'), 'BROKER_ERR_OCSP_UNAVAILABLE')
      assert.equal(await check(checker, leaf, 'closed'), 'BROKER_ERR_OCSP_UNAVAILABLE')
      assert.equal(silent.requests(), 1)
    } finally {
      await silent.close()
    }
  })

  it('asks no responder outside MQGATE_CRL_FETCH_ALLOW (an AIA URL is whatever the certificate\'s maker wrote), and one inside it', async () => {
    const proxy = await startHttpResponder(forwardTo(ports.openssl))
    try {
      const leaf = withUrl('allow-listed', proxy.port)
      const within = (entries: string[]): OcspCheckerOptions => ({ bounds: { timeoutMs: 3000, maxBytes: 64 * 1024, allow: new FetchAllowList(entries) } })
      assert.equal(await check(new OcspChecker(within(['192.0.2.0/24', 'ocsp.example.com'])), leaf, 'closed'), 'BROKER_ERR_OCSP_UNAVAILABLE')
      assert.match(await failureReason(within(['192.0.2.0/24']), leaf), /outside MQGATE_CRL_FETCH_ALLOW/)
      assert.equal(proxy.requests(), 0)
      // The control: the same responder, listed, is asked (and does not know the certificate).
      assert.equal(await check(new OcspChecker(within(['127.0.0.1/32'])), leaf, 'closed'), 'BROKER_ERR_OCSP_UNKNOWN')
      assert.equal(proxy.requests(), 1)
    } finally {
      await proxy.close()
    }
  })

  it('refuses an oversized answer (declared or streamed) as no answer', async () => {
    const big = Buffer.alloc(100 * 1024, 0x30)
    const declared = await startHttpResponder((_request, response) => { response.writeHead(200, { 'content-length': big.length }); response.end(big) })
    const streamed = await startHttpResponder((_request, response) => { response.writeHead(200); response.write(big.subarray(0, 50_000)); response.end(big.subarray(50_000)) })
    try {
      const checker = new OcspChecker()
      assert.equal(await check(checker, withUrl('big-declared', declared.port)), 'BROKER_ERR_OCSP_UNAVAILABLE')
      assert.equal(await check(checker, withUrl('big-streamed', streamed.port)), 'BROKER_ERR_OCSP_UNAVAILABLE')
      assert.equal(declared.requests() + streamed.requests(), 2)
      assert.match(await failureReason({}, withUrl('big-declared-2', declared.port)), /more than 65536/)
      assert.match(await failureReason({}, withUrl('big-streamed-2', streamed.port)), /over 65536 bytes/)
    } finally {
      await declared.close()
      await streamed.close()
    }
  })

  describe('answers made by the test with pkijs, signed by the CA', () => {
    const MINUTE = 60_000
    const crafted = async (name: string, tweaks: Tweaks, run: (leaf: ChainLeaf) => Promise<void>, keyFile = ca.keyFile): Promise<void> => {
      const server = await startHttpResponder(craftedResponder({ certPem: ca.certPem, keyPem: readFileSync(keyFile, 'utf8') }, tweaks))
      try {
        await run(withUrl(name, server.port))
      } finally {
        await server.close()
      }
    }

    it('accepts a current answer echoing the nonce (the control of the cases below)', async () => {
      await crafted('crafted-good', {}, async leaf => assert.equal(await check(new OcspChecker(), leaf), 'good'))
    })

    it('accepts a fresh answer without nextUpdate or nonce (a responder that signs each answer)', async () => {
      await crafted('crafted-fresh-no-next', { replayed: true }, async leaf => assert.equal(await check(new OcspChecker(), leaf), 'good'))
    })

    it('takes an answer naming the CA as its signer but signed with another key as no answer', async () => {
      await crafted('crafted-wrong-key', {}, async leaf => {
        assert.equal(await check(new OcspChecker(), leaf, 'closed'), 'BROKER_ERR_OCSP_UNAVAILABLE')
        assert.match(await failureReason({}, leaf), /signature does not verify/)
      }, stranger.keyFile)
    })

    const cases: Array<[string, () => Tweaks, RegExp]> = [
      ['an answer past its nextUpdate', () => ({ thisUpdate: new Date(Date.now() - 10 * MINUTE), nextUpdate: new Date(Date.now() - MINUTE) }), /nextUpdate has passed/],
      ['an answer whose thisUpdate is an hour ahead', () => ({ thisUpdate: new Date(Date.now() + 60 * MINUTE), nextUpdate: new Date(Date.now() + 120 * MINUTE) }), /thisUpdate is in the future/],
      ['an answer echoing another nonce', () => ({ nonce: Buffer.alloc(16, 7) }), /another request's nonce/],
      ['an answer about another serial', () => ({ serial: 4242 }), /no answer for the certificate asked about/],
      // Without nextUpdate and without our nonce, an old answer (from before a revocation) would otherwise pass for the responder's word now.
      ['an answer without nextUpdate or nonce made two days ago (a replay)', () => ({ replayed: true, thisUpdate: new Date(Date.now() - 48 * 60 * MINUTE) }), /no nextUpdate and a thisUpdate more than/]
    ]
    for (const [label, tweaks, reason] of cases) {
      it(`takes ${label} as no answer`, async () => {
        await crafted(`crafted-${reason.source.replace(/[^a-z]/gi, '')}`, tweaks(), async leaf => {
          assert.equal(await check(new OcspChecker(), leaf, 'closed'), 'BROKER_ERR_OCSP_UNAVAILABLE')
          assert.match(await failureReason({}, leaf), reason)
        })
      })
    }
  })

  it('treats a certificate that names no responder as no answer: closed refuses, open admits', async () => {
    const checker = new OcspChecker()
    assert.equal(await check(checker, leaves.noUrl, 'closed'), 'BROKER_ERR_OCSP_UNAVAILABLE')
    assert.equal(await check(checker, leaves.noUrl, 'open'), 'good')
  })
})
