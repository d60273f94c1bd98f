import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import path from 'node:path'
import { addCa, loadCrl, managedCaOf } from '../../certs/index.js'
import { endAll, tryConnect } from '../support/mqtt-client.js'
import { openssl } from '../support/openssl.js'
import { chainCrl, chainIntermediate, chainLeaf, chainRoot, pemBundle, type ChainCa, type ChainLeaf } from '../support/openssl-chain.js'
import { httpsRequest, startTestStack, within, type TestStack } from '../support/stack.js'
import { connectPacket, connectRaw } from '../support/raw-mqtt.js'
import { makeTempDir } from '../support/temp-dir.js'

/**
 * Devices signed by intermediate CAs, as operators' own PKIs issue them: a
 * root kept offline, intermediates under it, devices under those. Each case
 * runs over real TLS, for MQTT (mqtt.js, and mosquitto_pub for the chain a
 * device sends) and for the temps API (HTTPS), and is checked against
 * `openssl verify`.
 *
 * The PKI: root R; intermediates I1 and I2 under R; J2 under I1, J3 under J2.
 * Devices: L1 and L1r under I1, L2 under I2, D2 under J2, D3 under J3.
 */
describe('intermediate CA chains', function () {
  this.timeout(60_000)
  let stack: TestStack
  let temp: { dir: string, remove: () => Promise<void> }
  let R: ChainCa, I1: ChainCa, I2: ChainCa, J2: ChainCa, J3: ChainCa
  let L1: ChainLeaf, L1r: ChainLeaf, L2: ChainLeaf, D2: ChainLeaf, D3: ChainLeaf
  const ids: Record<string, string> = {}

  before(async () => {
    temp = await makeTempDir('chains')
    const dir = temp.dir
    R = chainRoot(dir, 'root')
    I1 = chainIntermediate(R, dir, 'inter-1')
    I2 = chainIntermediate(R, dir, 'inter-2')
    J2 = chainIntermediate(I1, dir, 'inter-j2')
    J3 = chainIntermediate(J2, dir, 'inter-j3')
    L1 = chainLeaf(I1, dir, 'l1', 'd:sensor:chain-1')
    L1r = chainLeaf(I1, dir, 'l1r', 'd:sensor:chain-1r')
    L2 = chainLeaf(I2, dir, 'l2', 'd:sensor:chain-2')
    D2 = chainLeaf(J2, dir, 'd2', 'd:sensor:deep-2')
    D3 = chainLeaf(J3, dir, 'd3', 'd:sensor:deep-3')
    // A limit below the default, to show the setting is read from the environment.
    stack = await startTestStack({ MQGATE_MAX_CHAIN_DEPTH: '3' })
    const registry = stack.running.registry
    for (const org of ['inter-only', 'both', 'deep']) await registry.createOrg(org)
    // One PKI trusted by several test organisations: an acknowledged sharing (ca add --shared).
    const shared = { shared: true }
    ids.demoRoot = (await addCa(registry, 'demo', R.certPem, 'root', 'test', shared)).id
    ids.interOnly = (await addCa(registry, 'inter-only', I1.certPem, 'intermediate only', 'test', shared)).id
    ids.bothRoot = (await addCa(registry, 'both', R.certPem, 'root', 'test', shared)).id
    ids.bothInter = (await addCa(registry, 'both', I1.certPem, 'intermediate', 'test', shared)).id
    await addCa(registry, 'deep', R.certPem, 'root', 'test', shared)
  })
  after(async () => {
    await stack?.close()
    await temp?.remove()
  })

  const caOf = (org: string): string => managedCaOf(stack.running.registry.require(org)).certPem
  const presenting = (leaf: ChainLeaf, ...chain: ChainCa[]): { certPem: string, keyPem: string } =>
    ({ certPem: [leaf, ...chain].map(c => c.certPem.trim()).join('\n') + '\n', keyPem: leaf.keyPem })

  /** How a CONNECT ended: `connected`, a CONNACK refusal, or `closed` by the TLS gate. */
  async function mqtt (org: string, cert: { certPem: string, keyPem: string }, deviceId: string): Promise<{ outcome: string, returnCode?: number }> {
    const result = await tryConnect({ port: stack.mqttPort, servername: `${org}.messaging.localhost`, caPem: caOf(org), cert, clientId: `d:${org}:sensor:${deviceId}` })
    if (result.outcome !== 'connected') return result.outcome === 'connack' ? result : { outcome: 'closed' }
    await endAll(result.client)
    return { outcome: 'connected' }
  }

  async function temps (org: string, cert: { certPem: string, keyPem: string }): Promise<number> {
    return (await httpsRequest(stack.apiPort, { path: '/temps', caPem: caOf(org), cert, servername: `${org}.messaging.localhost` })).status
  }

  const connected = { outcome: 'connected' }
  const notAuthorized = { outcome: 'connack', returnCode: 5 }

  function verifies (args: readonly string[]): string {
    try {
      return openssl(['verify', ...args]).trim()
    } catch (err) {
      return (err as Error).message
    }
  }

  async function refusedWith (code: string, clientId: string): Promise<void> {
    assert.ok(await stack.logs.waitFor(l => l.code === code && l.clientId === clientId), `${code} logged for ${clientId}`)
  }

  describe('root uploaded, device sends leaf + intermediate', () => {
    it('connects over MQTT and is served by the temps API, as openssl verify agrees', async () => {
      assert.match(verifies(['-CAfile', R.certFile, '-untrusted', I1.certFile, L1.certFile]), /: OK$/)
      assert.deepEqual(await mqtt('demo', presenting(L1, I1), 'chain-1'), connected)
      assert.equal(await temps('demo', presenting(L1, I1)), 200)
    })

    it('publishes with mosquitto_pub --cert chain.pem', async function () {
      if (spawnSync('mosquitto_pub', ['--help']).error !== undefined) this.skip()
      const chain = pemBundle(path.join(temp.dir, 'chain.pem'), [L1, I1])
      const caFile = path.join(temp.dir, 'demo-ca.pem')
      pemBundle(caFile, [{ certPem: caOf('demo') }])
      // mosquitto_pub sends "127.0.0.1" as SNI: `mqgate start` lands that in its default organisation, demo.
      const result = await new Promise<{ status: number | null, stderr: string }>(resolve => {
        const child = spawn('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(stack.mqttPort), '--cafile', caFile, '--cert', chain, '--key', L1.keyFile,
          '-i', 'd:demo:sensor:chain-1', '-q', '1', '-t', 'iot-2/evt/temp/fmt/json', '-m', '{"temperature":20.5,"time":"2026-12-01T00:00:00Z"}'], { stdio: ['ignore', 'ignore', 'pipe'] })
        let stderr = ''
        child.stderr.setEncoding('utf8').on('data', chunk => { stderr += chunk })
        child.once('close', status => resolve({ status, stderr }))
      })
      assert.equal(result.status, 0, result.stderr)
      const readings = await within(5000, async () => {
        const answer = await httpsRequest(stack.apiPort, { path: '/temps', caPem: caOf('demo'), cert: presenting(L1, I1), servername: 'demo.messaging.localhost' })
        return answer.body?.length > 0 ? answer.body : undefined
      })
      assert.equal(readings[0].temperature, 20.5)
    })

    it('refuses the leaf alone: the intermediate is neither sent nor uploaded', async () => {
      assert.match(verifies(['-CAfile', R.certFile, L1.certFile]), /unable to get local issuer certificate/)
      assert.equal((await mqtt('demo', presenting(L1), 'chain-1')).outcome, 'closed')
      assert.equal(await temps('demo', presenting(L1)), 403)
    })

    it('refuses every device under an intermediate the root\'s CRL revokes, and keeps the others', async () => {
      assert.deepEqual(await mqtt('demo', presenting(L2, I2), 'chain-2'), connected)
      const rootCrl = chainCrl(R, [I2.serial])
      const i2Crl = chainCrl(I2, [])
      assert.match(verifies(['-crl_check_all', '-CAfile', R.certFile, '-untrusted', I2.certFile, '-CRLfile', rootCrl, '-CRLfile', i2Crl, L2.certFile]), /certificate revoked/)
      await loadCrl(stack.running.registry, 'demo', ids.demoRoot, openssl(['crl', '-in', rootCrl]), 'test')
      assert.deepEqual(await mqtt('demo', presenting(L2, I2), 'chain-2'), notAuthorized)
      await refusedWith('BROKER_ERR_CERT_REVOKED', 'd:demo:sensor:chain-2')
      assert.equal(await temps('demo', presenting(L2, I2)), 403)
      assert.deepEqual(await mqtt('demo', presenting(L1, I1), 'chain-1'), connected)
    })
  })

  describe('intermediate uploaded (root not), device sends the leaf only', () => {
    it('connects: an uploaded CA is a trust anchor whether or not it is self-signed (openssl -partial_chain)', async () => {
      assert.match(verifies(['-partial_chain', '-CAfile', I1.certFile, L1.certFile]), /: OK$/)
      assert.deepEqual(await mqtt('inter-only', presenting(L1), 'chain-1'), connected)
      assert.equal(await temps('inter-only', presenting(L1)), 200)
    })

    it('refuses the leaves the intermediate\'s CRL revokes, and keeps the others', async () => {
      const crl = chainCrl(I1, [L1r.serial])
      assert.match(verifies(['-partial_chain', '-crl_check', '-CAfile', I1.certFile, '-CRLfile', crl, L1r.certFile]), /certificate revoked/)
      await loadCrl(stack.running.registry, 'inter-only', ids.interOnly, openssl(['crl', '-in', crl]), 'test')
      assert.deepEqual(await mqtt('inter-only', presenting(L1r), 'chain-1r'), notAuthorized)
      await refusedWith('BROKER_ERR_CERT_REVOKED', 'd:inter-only:sensor:chain-1r')
      assert.equal(await temps('inter-only', presenting(L1r)), 403)
      assert.deepEqual(await mqtt('inter-only', presenting(L1), 'chain-1'), connected)
    })
  })

  describe('root and intermediate uploaded, device sends the leaf only', () => {
    it('connects', async () => {
      const both = pemBundle(path.join(temp.dir, 'both.pem'), [R, I1])
      assert.match(verifies(['-CAfile', both, L1.certFile]), /: OK$/)
      assert.deepEqual(await mqtt('both', presenting(L1), 'chain-1'), connected)
      assert.equal(await temps('both', presenting(L1)), 200)
    })

    it('refuses it once the root\'s CRL revokes the uploaded intermediate', async () => {
      const rootCrl = chainCrl(R, [I1.serial])
      await loadCrl(stack.running.registry, 'both', ids.bothRoot, openssl(['crl', '-in', rootCrl]), 'test')
      assert.deepEqual(await mqtt('both', presenting(L1), 'chain-1'), notAuthorized)
      await refusedWith('BROKER_ERR_CERT_REVOKED', 'd:both:sensor:chain-1')
      assert.equal(await temps('both', presenting(L1)), 403)
    })
  })

  describe('TLS session resumption', () => {
    // A resumed session carries the device's certificate but not the intermediates it sent.
    for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
      it(`resumes the session of a device that sent its intermediate (${version})`, async () => {
        const cert = presenting(L1, I1)
        const first = await connectRaw({ port: stack.mqttPort, servername: 'demo.messaging.localhost', caPem: caOf('demo'), cert, maxVersion: version })
        first.send(connectPacket('d:demo:sensor:chain-1'))
        assert.deepEqual([(await first.next())?.cmd, (await first.session()).length > 0], ['connack', true])
        const session = await first.session()
        first.end()
        const again = await connectRaw({ port: stack.mqttPort, servername: 'demo.messaging.localhost', caPem: caOf('demo'), cert, session, maxVersion: version })
        assert.equal(again.socket.isSessionReused(), true)
        again.send(connectPacket('d:demo:sensor:chain-1'))
        const answer = await again.next() as { cmd: string, returnCode?: number } | undefined
        assert.deepEqual([answer?.cmd, answer?.returnCode], ['connack', 0])
        again.end()
      })
    }
  })

  describe('chain depth (MQGATE_MAX_CHAIN_DEPTH=3)', () => {
    it('accepts a leaf and two intermediates', async () => {
      assert.match(verifies(['-CAfile', R.certFile, '-untrusted', pemBundle(path.join(temp.dir, 'd2-chain.pem'), [J2, I1]), D2.certFile]), /: OK$/)
      assert.deepEqual(await mqtt('deep', presenting(D2, J2, I1), 'deep-2'), connected)
      assert.equal(await temps('deep', presenting(D2, J2, I1)), 200)
    })

    it('refuses a leaf and three intermediates with BROKER_ERR_CHAIN_TOO_DEEP, though openssl verifies it', async () => {
      assert.match(verifies(['-CAfile', R.certFile, '-untrusted', pemBundle(path.join(temp.dir, 'd3-chain.pem'), [J3, J2, I1]), D3.certFile]), /: OK$/)
      assert.deepEqual(await mqtt('deep', presenting(D3, J3, J2, I1), 'deep-3'), notAuthorized)
      await refusedWith('BROKER_ERR_CHAIN_TOO_DEEP', 'd:deep:sensor:deep-3')
      assert.equal(await temps('deep', presenting(D3, J3, J2, I1)), 403)
      assert.ok(stack.logs.find(l => l.event === 'api.refused' && l.code === 'BROKER_ERR_CHAIN_TOO_DEEP'))
    })
  })
})
