import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { issueClientCert, managedCaOf, revokeCert } from '../../certs/index.js'
import { runApi, runBroker, type RunningProcess } from '../../cli/processes.js'
import { TEST_KEK } from '../support/kek.js'
import { createLogSink } from '../support/log-sink.js'
import { runCommand, showResult } from '../support/mqgate-cli.js'
import { freePort, startTestRedis, type TestRedis } from '../support/redis-server.js'
import { within } from '../support/stack.js'
import { makeTempDir } from '../support/temp-dir.js'

/**
 * Issue 16 as docker-compose runs it: `mqgate broker` (the admin API, where
 * an operator revokes, and stapling) and `mqgate api` (the PKI HTTP port)
 * share a Redis. A certificate the broker's process issued is `good` at the
 * api's responder, and the broker's revocation shows there as soon as the
 * api's registry follows the store.
 */
describe('certs: OCSP across processes sharing Redis (broker revokes, api answers)', function () {
  this.timeout(60_000)
  let redis: TestRedis
  let temp: { dir: string, remove: () => Promise<void> }
  let broker: RunningProcess
  let api: RunningProcess
  let pkiPort: number

  before(async () => {
    redis = await startTestRedis()
    temp = await makeTempDir('ocsp-processes')
    pkiPort = await freePort()
    // Every process is told the port (the URL it writes into certificates); only api binds it.
    const common = { REDIS_URL: redis.url, MQGATE_KEK: TEST_KEK, MQGATE_DATA_DIR: temp.dir, MQGATE_LOG_LEVEL: 'warn', MQGATE_WS_PORT: '0', MQGATE_PKI_HTTP_PORT: String(pkiPort) }
    broker = await runBroker({ ...common, MQGATE_MQTT_PORT: '0', MQGATE_ADMIN_PORT: '0' }, { logger: createLogSink().logger })
    api = await runApi({ ...common, MQGATE_API_PORT: '0' }, { logger: createLogSink().logger })
  })
  after(async () => {
    await api?.close()
    await broker?.close()
    await temp?.remove()
    await redis?.stop()
  })

  it('answers good for what the broker issued, then revoked once the broker revokes it', async () => {
    assert.equal(broker.ports.pki, undefined, 'mqgate broker serves no PKI HTTP port')
    assert.equal(api.ports.pki, pkiPort)
    await broker.registry.createOrg('acme')
    const issued = await issueClientCert(broker.registry, 'acme', { commonName: 'd:sensor:x-1' }, 'test')
    const caFile = path.join(temp.dir, 'acme-ca.pem')
    const certFile = path.join(temp.dir, 'x-1.crt')
    await writeFile(caFile, managedCaOf(broker.registry.require('acme')).certPem)
    await writeFile(certFile, issued.record.certPem)
    const ask = async (): Promise<string> => {
      const run = await runCommand('openssl', ['ocsp', '-issuer', caFile, '-cert', certFile, '-url', `http://127.0.0.1:${pkiPort}/ocsp/acme`, '-CAfile', caFile])
      assert.match(run.stderr, /Response verify OK/, showResult(run))
      return /x-1\.crt: (\w+)/.exec(run.stdout)?.[1] ?? showResult(run)
    }
    await within(10_000, async () => api.registry.get('acme') === undefined ? undefined : true)
    assert.equal(await ask(), 'good')
    await revokeCert(broker.registry, 'acme', issued.record.serial, 'test')
    await within(10_000, async () => await ask() === 'revoked' ? true : undefined)
  })

  it('staples on the broker, which names the responder without serving it', async () => {
    if (broker.registry.get('acme') === undefined) await broker.registry.createOrg('acme')
    const caFile = path.join(temp.dir, 'acme-ca.pem')
    await writeFile(caFile, managedCaOf(broker.registry.require('acme')).certPem)
    const run = await runCommand('openssl', ['s_client', '-connect', `127.0.0.1:${broker.ports.mqtt as number}`, '-servername', 'acme.messaging.localhost', '-status', '-CAfile', caFile], { timeoutMs: 20_000 })
    assert.match(run.stdout, /OCSP Response Status: successful/, showResult(run))
    assert.match(run.stdout, /Cert Status: good/, showResult(run))
  })
})
