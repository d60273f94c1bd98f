import assert from 'node:assert/strict'
import { readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { backupRegistry, issueClientCert, RedisRegistryStore, revokeCert, setGatewayDevices } from '../../certs/index.js'
import { MQGATE_BIN, runCommand, showResult, type CliResult } from '../support/mqgate-cli.js'
import { connect, endAll } from '../support/mqtt-client.js'
import { startTestRedis, type TestRedis } from '../support/redis-server.js'
import { ADMIN_TOKEN, httpsRequest, startTestStack, within, type HttpAnswer, type TestStack } from '../support/stack.js'

/** The value of an unlabelled sample in Prometheus text, or undefined. */
function sample (text: string, name: string): number | undefined {
  const line = text.split('\n').find(l => l.startsWith(`${name} `))
  return line === undefined ? undefined : Number(line.split(' ')[1])
}

describe('broker: a registry store that comes back empty (Redis)', function () {
  this.timeout(60_000)
  let redis: TestRedis
  let stack: TestStack

  let backupFile: string
  let heldBefore: unknown

  const registryCli = async (args: string[]): Promise<CliResult> =>
    await runCommand(process.execPath, [MQGATE_BIN, 'registry', ...args], { env: { REDIS_URL: redis.url } })
  /** What the store holds, read through the store itself (not the broker's memory). */
  const storeContents = async (): Promise<unknown> => {
    const store = new RedisRegistryStore(redis.connect())
    try {
      return (await backupRegistry(store)).orgs
    } finally {
      await store.close()
    }
  }

  before(async () => {
    redis = await startTestRedis()
    stack = await startTestStack({ REDIS_URL: redis.url })
    // Something in every part of the registry: a second organisation, an issued and a revoked certificate, a gateway scope.
    const registry = stack.running.registry
    await registry.createOrg('acme')
    const issued = await issueClientCert(registry, 'acme', { commonName: 'd:sensor:kept' }, 'test')
    const revoked = await issueClientCert(registry, 'acme', { commonName: 'd:sensor:gone' }, 'test')
    await revokeCert(registry, 'acme', revoked.record.id, 'test')
    await setGatewayDevices(registry, 'acme', 'gw:hall', ['sensor:kept'], 'test')
    assert.ok(issued.record.id !== '')
    heldBefore = await storeContents()
  })
  after(async () => {
    await stack.close()
    await redis.stop()
  })

  it('backs up the whole registry to a file of mode 0600, with a loud note that it holds CA keys', async () => {
    backupFile = path.join(stack.dataDir, 'registry-backup.json')
    const backup = await registryCli(['backup', backupFile])
    assert.equal(backup.status, 0, showResult(backup))
    assert.match(backup.stdout, /backed up 2 organisation\(s\)/)
    assert.match(backup.stderr, /WARNING[\s\S]*CA private keys/)
    assert.equal(statSync(backupFile).mode & 0o777, 0o600)
    // Issue 17: the backup holds what the store holds, so its keys are sealed under the KEK, never PEM.
    const text = readFileSync(backupFile, 'utf8')
    assert.doesNotMatch(text, /PRIVATE KEY/)
    assert.match(text, /mqgate-kek:v1:/)
  })

  const admin = async (route: string, token: string | null = ADMIN_TOKEN): Promise<HttpAnswer> =>
    await httpsRequest(stack.adminPort, { path: route, caPem: readFileSync(path.join(stack.dataDir, 'admin', 'ca.pem'), 'utf8'), headers: token === null ? {} : { authorization: `Bearer ${token}` } })

  it('keeps serving the organisations it holds, answers not ready on /readyz, logs CERTS_ERR_STORE_EMPTIED once and counts it', async () => {
    assert.equal((await admin('/readyz', null)).status, 200)
    // FLUSHALL is in the AOF: the restart brings Redis back empty, and every connection reconnects (the registry's watcher reloads all).
    const r = redis.connect()
    await r.flushall()
    r.disconnect()
    await redis.restart()
    const notReady = await within(15_000, async () => {
      const answer = await admin('/readyz', null)
      return answer.status === 503 ? answer : undefined
    }).catch(() => undefined)
    assert.ok(notReady !== undefined, '/readyz answers 503 while the store has lost the registry')
    assert.equal(notReady.body.checks.registry, false)
    assert.ok(stack.running.registry.get('demo') !== undefined, 'the organisation is still held in memory')
    const device = await connect({ port: stack.mqttPort, caPem: stack.caPem, cert: stack.issue('d:sensor:after-flush'), clientId: 'd:demo:sensor:after-flush', skipServerNameCheck: true })
    await endAll(device)
    const metrics = (await admin('/metrics')).text
    assert.equal(sample(metrics, 'mqgate_registry_store_emptied_total'), 1)
    assert.equal(sample(metrics, 'mqgate_registry_store_intact'), 0)
    await new Promise(resolve => setTimeout(resolve, 500))
    assert.equal(stack.logs.lines.filter(l => l.code === 'CERTS_ERR_STORE_EMPTIED').length, 1, 'one error line with its code')
  })

  it('restores every organisation from `mqgate registry backup`, and the running broker resumes without a restart', async () => {
    const restore = await registryCli(['restore', backupFile])
    assert.equal(restore.status, 0, showResult(restore))
    assert.match(restore.stdout, /restored 2 organisation\(s\)/)
    assert.deepEqual(await storeContents(), heldBefore, 'the store holds what it held before the loss: orgs, CAs, keys, issued records, revocations, scopes')
    const ready = await within(15_000, async () => {
      const answer = await admin('/readyz', null)
      return answer.status === 200 ? answer : undefined
    }).catch(() => undefined)
    assert.ok(ready !== undefined, '/readyz is ready again')
    const device = await connect({ port: stack.mqttPort, caPem: stack.caPem, cert: stack.issue('d:sensor:after-restore'), clientId: 'd:demo:sensor:after-restore', skipServerNameCheck: true })
    await endAll(device)
    const again = await registryCli(['restore', backupFile])
    assert.equal(again.status, 1, 'a restore over organisations the store holds is refused')
    assert.match(again.stderr, /CERTS_ERR_RESTORE_CONFLICT/)
  })
})
