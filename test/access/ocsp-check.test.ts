import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { addCa, loadCrl, managedCaOf, setCrlPolicy, setOcspCheck } from '../../certs/index.js'
import { mqgateCli, showResult, type CliResult } from '../support/mqgate-cli.js'
import { tryConnect } from '../support/mqtt-client.js'
import { aiaOcsp, startHttpResponder, startOpensslResponder, writeOcspIndex, type RunningResponder } from '../support/ocsp-responder.js'
import { chainCrl, chainIntermediate, chainLeaf, chainRoot, type ChainCa, type ChainLeaf } from '../support/openssl-chain.js'
import { freePort } from '../support/redis-server.js'
import { ADMIN_TOKEN, httpsRequest, startTestStack, type TestStack } from '../support/stack.js'
import { makeTempDir } from '../support/temp-dir.js'
import { sample } from '../support/prometheus.js'

/**
 * Issue 16 part 3: `mqgate ca ocsp <org> <caId> on` checks each device of an
 * uploaded CA against the OCSP responder its certificate names, at each MQTT
 * CONNECT and HTTPS request. The operator's CA runs its own responder here,
 * `openssl ocsp -index index.txt -port`, started by the test and signing
 * with the CA's own key.
 */
describe('access: devices of an uploaded CA checked by OCSP (ca ocsp on)', function () {
  this.timeout(60_000)
  let stack: TestStack
  let temp: { dir: string, remove: () => Promise<void> }
  let ca: ChainCa
  let caId: string
  let responder: RunningResponder | undefined
  let interResponder: RunningResponder | undefined
  let rootId: string
  const leaves: Record<string, ChainLeaf> = {}

  before(async () => {
    temp = await makeTempDir('ocsp-check')
    const port = await freePort()
    ca = chainRoot(temp.dir, 'ocsp-operator-ca')
    const aia = aiaOcsp(`http://127.0.0.1:${port}`)
    for (const name of ['good', 'revoked', 'unknown', 'closed', 'open']) leaves[name] = chainLeaf(ca, temp.dir, name, `d:sensor:${name}`, aia)
    const index = writeOcspIndex(ca, [
      { leaf: leaves.good, status: 'V' }, { leaf: leaves.revoked, status: 'R' }, { leaf: leaves.closed, status: 'V' }, { leaf: leaves.open, status: 'V' }
    ])
    responder = await startOpensslResponder({ ca, index, signer: ca, port })
    // A root uploaded alone; its devices sit under an intermediate they present, whose own responder answers for them.
    const interPort = await freePort()
    const root = chainRoot(temp.dir, 'ocsp-root')
    const inter = chainIntermediate(root, temp.dir, 'ocsp-inter')
    for (const name of ['under-inter-good', 'under-inter-revoked']) {
      const leaf = chainLeaf(inter, temp.dir, name, `d:sensor:${name}`, aiaOcsp(`http://127.0.0.1:${interPort}`))
      leaves[name] = { ...leaf, certPem: leaf.certPem + inter.certPem }
    }
    const interIndex = writeOcspIndex(inter, [{ leaf: leaves['under-inter-good'], status: 'V' }, { leaf: leaves['under-inter-revoked'], status: 'R' }])
    interResponder = await startOpensslResponder({ ca: inter, index: interIndex, signer: inter, port: interPort })
    stack = await startTestStack()
    caId = (await addCa(stack.running.registry, 'demo', ca.certPem, 'operator CA with a responder', 'test')).id
    rootId = (await addCa(stack.running.registry, 'demo', root.certPem, 'root above an intermediate with a responder', 'test')).id
  })
  after(async () => {
    await responder?.stop()
    await interResponder?.stop()
    await stack?.close()
    await temp?.remove()
  })

  const cli = async (...args: string[]): Promise<CliResult> =>
    await mqgateCli(args, { url: `https://127.0.0.1:${stack.adminPort}`, caFile: path.join(stack.dataDir, 'admin', 'ca.pem'), token: ADMIN_TOKEN })
  const serverCa = (): string => managedCaOf(stack.running.registry.require('demo')).certPem
  const cert = (leaf: ChainLeaf): { certPem: string, keyPem: string } => ({ certPem: leaf.certPem, keyPem: leaf.keyPem })

  /** `connected`, or the code the gateway logged for the refused CONNECT (with CONNACK 5). */
  async function mqtt (name: string): Promise<string> {
    const from = stack.logs.lines.length
    const result = await tryConnect({ port: stack.mqttPort, servername: 'demo.messaging.localhost', caPem: serverCa(), cert: cert(leaves[name]), clientId: `d:demo:sensor:${name}` })
    if (result.outcome === 'connected') {
      await result.client.endAsync(true)
      return 'connected'
    }
    assert.deepEqual(result, { outcome: 'connack', returnCode: 5 })
    return String(stack.logs.lines.slice(from).find(l => l.event === 'connect.refused')?.code)
  }

  /** `200`, or the code of the temps API's 403. */
  async function https (name: string): Promise<string> {
    const answer = await httpsRequest(stack.apiPort, { path: '/temps', caPem: serverCa(), cert: cert(leaves[name]), servername: 'demo.messaging.localhost' })
    if (answer.status === 200) return '200'
    assert.equal(answer.status, 403, answer.text)
    return String(answer.body?.error?.code)
  }

  async function metrics (): Promise<string> {
    return (await httpsRequest(stack.adminPort, { path: '/metrics', caPem: readFileSync(path.join(stack.dataDir, 'admin', 'ca.pem'), 'utf8'), headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text
  }

  it('without ca ocsp on, a device its responder reports revoked connects (the check is what refuses it below)', async () => {
    assert.equal(await mqtt('revoked'), 'connected')
    assert.equal(await https('revoked'), '200')
  })

  it('turns the check on with mqgate ca ocsp, shown by ca list, and refuses it for the managed CA', async () => {
    const on = await cli('ca', 'ocsp', 'demo', caId, 'on', '--json')
    assert.equal(on.status, 0, showResult(on))
    assert.equal(JSON.parse(on.stdout).ocsp_check, true)
    const list = await cli('ca', 'list', 'demo')
    assert.match(list.stdout, /OCSP_CHECK/, showResult(list))
    assert.match(list.stdout.split('\n').find(l => l.startsWith(caId)) ?? '', /\btrue\b/, showResult(list))
    const managed = await cli('ca', 'ocsp', 'demo', managedCaOf(stack.running.registry.require('demo')).id, 'on')
    assert.equal(managed.status, 1, showResult(managed))
    assert.match(managed.stderr, /^mqgate: CERTS_ERR_CA_MANAGED: /, showResult(managed))
    const wrongWord = await cli('ca', 'ocsp', 'demo', caId, 'maybe')
    assert.equal(wrongWord.status, 2, showResult(wrongWord))
    assert.match(wrongWord.stderr, /Allowed choices are on, off/, showResult(wrongWord))
  })

  it('admits a device its responder reports good, over MQTT and HTTPS', async () => {
    assert.equal(await mqtt('good'), 'connected')
    assert.equal(await https('good'), '200')
  })

  it('refuses a device its responder reports revoked: CONNACK 5 and 403 with BROKER_ERR_CERT_REVOKED', async () => {
    assert.equal(await mqtt('revoked'), 'BROKER_ERR_CERT_REVOKED')
    assert.equal(await https('revoked'), 'BROKER_ERR_CERT_REVOKED')
  })

  it('refuses a device its responder does not know (status unknown) with BROKER_ERR_OCSP_UNKNOWN', async () => {
    assert.equal(await mqtt('unknown'), 'BROKER_ERR_OCSP_UNKNOWN')
    assert.equal(await https('unknown'), 'BROKER_ERR_OCSP_UNKNOWN')
  })

  it('asks no responder for a certificate the trust check refuses first (listed in the CA\'s CRL, or not signed by the CA though naming it as issuer)', async () => {
    const listener = await startHttpResponder((_request, response) => { response.writeHead(500).end() })
    try {
      const aia = aiaOcsp(`http://127.0.0.1:${listener.port}`)
      // Chains to the CA (the TLS front admits it), but the CA's CRL lists it: the identity path refuses it before any OCSP question.
      leaves.listed = chainLeaf(ca, temp.dir, 'listed', 'd:sensor:listed', aia)
      await loadCrl(stack.running.registry, 'demo', caId, readFileSync(chainCrl(ca, [leaves.listed.serial]), 'utf8'), 'test')
      assert.equal(await mqtt('listed'), 'BROKER_ERR_CERT_REVOKED')
      assert.equal(await https('listed'), 'BROKER_ERR_CERT_REVOKED')
      // The uploaded CA's subject with another key: the leaf names that CA as issuer, but the CA never signed it.
      const impostor = chainRoot(path.join(temp.dir, 'impostor'), 'ocsp-operator-ca')
      leaves.forged = chainLeaf(impostor, temp.dir, 'forged', 'd:sensor:forged', aia)
      const from = stack.logs.lines.length
      const result = await tryConnect({ port: stack.mqttPort, servername: 'demo.messaging.localhost', caPem: serverCa(), cert: cert(leaves.forged), clientId: 'd:demo:sensor:forged' })
      assert.notEqual(result.outcome, 'connected')
      assert.equal(stack.logs.lines.slice(from).find(l => l.event === 'tls.refused')?.code, 'BROKER_ERR_CERT_UNTRUSTED')
      assert.equal(await https('forged'), 'BROKER_ERR_CERT_UNTRUSTED')
      // The AIA URL is whoever made the certificate's: it is followed only for one that chains to the CA.
      assert.equal(listener.requests(), 0)
    } finally {
      await listener.close()
    }
  })

  it('checks a device under an intermediate it presents against that intermediate\'s responder (the CertID names the direct issuer)', async () => {
    await setOcspCheck(stack.running.registry, 'demo', rootId, true, 'test')
    assert.equal(await mqtt('under-inter-good'), 'connected')
    assert.equal(await https('under-inter-good'), '200')
    assert.equal(await mqtt('under-inter-revoked'), 'BROKER_ERR_CERT_REVOKED')
    assert.equal(await https('under-inter-revoked'), 'BROKER_ERR_CERT_REVOKED')
  })

  it('counts the checks in mqgate_ocsp_check_total, by outcome and source', async () => {
    const text = await metrics()
    assert.ok((sample(text, 'mqgate_ocsp_check_total', { org: 'demo', ca: caId, outcome: 'revoked', source: 'responder' }) ?? 0) >= 1, text)
    // The HTTPS request after the CONNECT found the answer cached (nextUpdate is a minute ahead).
    assert.ok((sample(text, 'mqgate_ocsp_check_total', { org: 'demo', ca: caId, outcome: 'revoked', source: 'cache' }) ?? 0) >= 1, text)
    assert.ok((sample(text, 'mqgate_ocsp_check_total', { org: 'demo', ca: caId, outcome: 'good', source: 'responder' }) ?? 0) >= 1, text)
  })

  it('asks no responder outside MQGATE_CRL_FETCH_ALLOW (the AIA URL is the certificate maker\'s): no answer, and the CA policy decides', async () => {
    const fenced = await startTestStack({ MQGATE_CRL_FETCH_ALLOW: '192.0.2.0/24' })
    try {
      const id = (await addCa(fenced.running.registry, 'demo', ca.certPem, 'operator CA with a responder', 'test')).id
      await setOcspCheck(fenced.running.registry, 'demo', id, true, 'test')
      await setCrlPolicy(fenced.running.registry, 'demo', id, 'closed', 'test')
      // The responder runs and knows the device as good: only the allow-list keeps it from being asked.
      const result = await tryConnect({ port: fenced.mqttPort, servername: 'demo.messaging.localhost', caPem: managedCaOf(fenced.running.registry.require('demo')).certPem, cert: cert(leaves.good), clientId: 'd:demo:sensor:good' })
      assert.deepEqual(result, { outcome: 'connack', returnCode: 5 })
      const refusal = fenced.logs.lines.find(l => l.event === 'connect.refused')
      assert.equal(refusal?.code, 'BROKER_ERR_OCSP_UNAVAILABLE')
      assert.match(String(refusal?.msg), /outside MQGATE_CRL_FETCH_ALLOW/)
    } finally {
      await fenced.close()
    }
  })

  it('with the responder stopped: the CA\'s closed policy refuses with BROKER_ERR_OCSP_UNAVAILABLE, open admits', async () => {
    await responder?.stop()
    responder = undefined
    await setCrlPolicy(stack.running.registry, 'demo', caId, 'closed', 'test')
    assert.equal(await mqtt('closed'), 'BROKER_ERR_OCSP_UNAVAILABLE')
    assert.equal(await https('closed'), 'BROKER_ERR_OCSP_UNAVAILABLE')
    await setCrlPolicy(stack.running.registry, 'demo', caId, 'open', 'test')
    assert.equal(await mqtt('open'), 'connected')
    assert.equal(await https('open'), '200')
    assert.ok(stack.logs.lines.some(l => l.event === 'ocsp.unavailable' && l.caId === caId), 'the open admission is logged as a warning')
  })

  it('turns the check off with mqgate ca ocsp off: the revoked device connects again', async () => {
    const off = await cli('ca', 'ocsp', 'demo', caId, 'off')
    assert.equal(off.status, 0, showResult(off))
    assert.match(off.stdout, /^OCSP check off for /)
    assert.equal(await mqtt('revoked'), 'connected')
    assert.equal(await https('revoked'), '200')
  })
})
