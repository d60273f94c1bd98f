import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createPrivateKey } from 'node:crypto'
import { readdir, readFile, stat, writeFile } from 'node:fs/promises'
import https from 'node:https'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Redis } from 'ioredis'
import {
  ensureAdminCredentials, kekFromBase64, keyRing, BLOB_PREFIX, EncryptingRegistryStore, OrgRegistry, RedisRegistryStore, type KeyRing
} from '../../certs/index.js'
import { createLogSink } from '../support/log-sink.js'
import { tryConnect } from '../support/mqtt-client.js'
import type { TestCert } from '../support/pki.js'
import { freePort, redisServerAvailable, startTestRedis, type TestRedis } from '../support/redis-server.js'
import { makeTempDir } from '../support/temp-dir.js'
import { serverNameOf } from '../../access/index.js'

const MQGATE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../cli/mqgate.js')
const TOKEN = 'kek-test-admin-token'
const KEK_1 = 'Zmlyc3Qta2V5LWVuY3J5cHRpb24ta2V5LW9mLXRlc3Q='
const KEK_2 = 'c2Vjb25kLWtleS1lbmNyeXB0aW9uLWtleS1vZi10ZXM='
const WRONG_KEK = 'd3Jvbmcta2V5LWVuY3J5cHRpb24ta2V5LWZvci10ZXM='

interface Started { readonly child: ChildProcess, readonly mqttPort: number, readonly adminPort: number, output (): string, stop (): Promise<void> }

/** `mqgate start --workers 1` as an operator runs it, until it prints its mosquitto_pub line. */
async function startMqgate (env: Record<string, string>): Promise<Started> {
  const [mqttPort, adminPort, apiPort] = [await freePort(), await freePort(), await freePort()]
  const child = spawn(process.execPath, [MQGATE, 'start', '--workers', '1'], {
    env: { ...process.env, MQGATE_MQTT_PORT: String(mqttPort), MQGATE_ADMIN_PORT: String(adminPort), MQGATE_WS_PORT: '0', MQGATE_PKI_HTTP_PORT: '0', MQGATE_API_PORT: String(apiPort), MQGATE_ADMIN_TOKEN: TOKEN, MQGATE_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout?.on('data', chunk => { output += chunk })
  child.stderr?.on('data', chunk => { output += chunk })
  const deadline = Date.now() + 30_000
  while (!output.includes('mosquitto_pub ')) {
    if (Date.now() > deadline || child.exitCode !== null) { child.kill('SIGKILL'); throw new Error(`mqgate start did not come up:\n${output}`) }
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  return {
    child,
    mqttPort,
    adminPort,
    output: () => output,
    stop: async () => { if (child.exitCode === null) await new Promise(resolve => { child.once('exit', resolve); child.kill('SIGTERM') }) }
  }
}

function runMqgate (args: string[], env: Record<string, string>): { status: number | null, stdout: string, stderr: string } {
  const result = spawnSync(process.execPath, [MQGATE, ...args], { env: { ...process.env, MQGATE_LOG_LEVEL: 'info', ...env }, encoding: 'utf8', timeout: 30_000 })
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

/** A refusal as the README promises it: exit 1, one line on stderr with the code, no stack trace. */
function assertRefused (result: { status: number | null, stderr: string }, code: string): void {
  assert.equal(result.status, 1, result.stderr)
  assert.equal(result.stderr.trim().split('\n').length, 1, `one line:\n${result.stderr}`)
  assert.match(result.stderr, new RegExp(`^mqgate: ${code}: `))
  assert.doesNotMatch(result.stderr, /\n\s+at |PRIVATE KEY/)
}

async function admin (started: Started, dataDir: string, method: string, route: string, body?: object): Promise<any> {
  const ca = await readFile(path.join(dataDir, 'admin', 'ca.pem'), 'utf8')
  return await new Promise((resolve, reject) => {
    const request = https.request({ host: '127.0.0.1', port: started.adminPort, path: route, method, ca, checkServerIdentity: () => undefined, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } }, response => {
      let text = ''
      response.setEncoding('utf8').on('data', chunk => { text += chunk }).on('end', () => {
        if ((response.statusCode ?? 500) < 300) resolve(JSON.parse(text))
        else reject(new Error(`${method} ${route}: HTTP ${String(response.statusCode)} ${text}`))
      })
    })
    request.on('error', reject)
    request.end(body === undefined ? undefined : JSON.stringify(body))
  })
}

/** A new device of the organisation connects over TLS with SNI <org>.messaging.localhost. */
async function deviceConnects (started: Started, dataDir: string, orgId: string, deviceId: string): Promise<void> {
  const issued = await admin(started, dataDir, 'POST', `/orgs/${orgId}/certs`, { cn: `d:sensor:${deviceId}` })
  const cert: TestCert = { certPem: issued.certificate, keyPem: issued.private_key }
  const outcome = await tryConnect({ port: started.mqttPort, servername: `${orgId}.messaging.localhost`, caPem: issued.ca_certificate, cert, clientId: `d:${orgId}:sensor:${deviceId}` })
  if (outcome.outcome !== 'connected') assert.fail(`${deviceId} of ${orgId} was refused: ${JSON.stringify(outcome)}`)
  outcome.client.end(true)
}

/** Each stored private key as the bytes an attacker would look for: PKCS#8 DER raw, base64, hex; the private scalar/exponent (JWK d) raw, base64url, hex; the PEM body. */
function needlesOf (keyPem: string): Buffer[] {
  const key = createPrivateKey(keyPem)
  const der = key.export({ format: 'der', type: 'pkcs8' })
  const d = Buffer.from(key.export({ format: 'jwk' }).d as string, 'base64url')
  const pemBody = keyPem.split('\n').filter(l => l !== '' && !l.startsWith('-----'))[0]
  return [der, Buffer.from(der.toString('base64')), Buffer.from(der.toString('hex')), d, Buffer.from(d.toString('base64url')), Buffer.from(d.toString('hex')), Buffer.from(pemBody)]
}

async function storedKeys (redis: Redis, keys: KeyRing): Promise<string[]> {
  const store = new EncryptingRegistryStore(new RedisRegistryStore(redis), keys)
  const pems: string[] = []
  for (const orgId of await store.listOrgIds()) {
    const state = await store.readOrg(orgId)
    for (const record of [...state?.cas ?? [], ...state?.serverCerts ?? []]) if (record.keyPem !== undefined) pems.push(record.keyPem)
  }
  return pems
}

/** Every value in the Redis, read by type (DUMP would hand back LZF-compressed strings). */
async function everyRedisValue (redis: Redis): Promise<Buffer[]> {
  const values: Buffer[] = []
  let cursor = '0'
  do {
    const [next, names] = await redis.scanBuffer(cursor, 'COUNT', 500)
    cursor = next.toString()
    for (const name of names) {
      const type = await redis.type(name)
      if (type === 'string') values.push(await redis.getBuffer(name) as Buffer)
      else if (type === 'hash') values.push(...Object.values(await redis.hgetallBuffer(name)))
      else if (type === 'set') values.push(...await redis.smembersBuffer(name))
      else if (type === 'list') values.push(...await redis.lrangeBuffer(name, 0, -1))
      else if (type === 'zset') values.push(...await redis.zrangeBuffer(name, 0, -1))
      else if (type === 'stream') values.push(...(await redis.xrangeBuffer(name, '-', '+')).flatMap(([, fields]) => fields))
      else assert.fail(`a Redis value of type ${type} this test cannot read`)
    }
  } while (cursor !== '0')
  return values
}

async function filesUnder (dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true })
  return entries.filter(e => e.isFile()).map(e => path.join(e.parentPath ?? (e as any).path, e.name))
}

function assertHoldsNoKey (where: string, content: Buffer, needles: readonly Buffer[]): void {
  assert.equal(content.includes('PRIVATE KEY'), false, `${where} holds a PEM private key`)
  needles.forEach((needle, i) => assert.equal(content.includes(needle), false, `${where} holds stored key material (needle ${i})`))
}

describe('mqgate on Redis keeps every private key encrypted at rest (child processes)', function () {
  this.timeout(120_000)
  let redis: TestRedis
  let temp: { dir: string, remove: () => Promise<void> }
  let kek1File: string
  let kek2File: string

  before(async function () {
    if (!redisServerAvailable()) this.skip()
    redis = await startTestRedis()
    temp = await makeTempDir('kek-redis')
    kek1File = path.join(temp.dir, 'kek-1')
    kek2File = path.join(temp.dir, 'kek-2')
    await writeFile(kek1File, KEK_1 + '\n', { mode: 0o600 })
    await writeFile(kek2File, KEK_2 + '\n', { mode: 0o600 })
  })
  after(async () => {
    await redis?.stop()
    await temp?.remove()
  })

  const envOf = (dataDir: string, kek: Record<string, string>): Record<string, string> => ({ REDIS_URL: redis.url, MQGATE_DATA_DIR: dataDir, ...kek })

  it('refuses to start on Redis without a KEK: CONFIG_ERR_KEK_REQUIRED, one line, exit 1', () => {
    assertRefused(runMqgate(['start', '--workers', '1'], { REDIS_URL: redis.url, MQGATE_DATA_DIR: path.join(temp.dir, 'none'), MQGATE_KEK: '', MQGATE_KEK_FILE: '' }), 'CONFIG_ERR_KEK_REQUIRED')
  })

  it('leaves no PEM and no DER key bytes in any Redis value, its AOF and RDB, or the data dir', async () => {
    const dataDir = path.join(temp.dir, 'node-a')
    const started = await startMqgate(envOf(dataDir, { MQGATE_KEK_FILE: kek1File }))
    const connection = redis.connect()
    try {
      await admin(started, dataDir, 'POST', '/orgs', { id: 'acme' })
      await admin(started, dataDir, 'POST', '/orgs', { id: 'globex' })
      // A pending CSR's key is stored too.
      await admin(started, dataDir, 'POST', '/orgs/acme/server-certs/csr', {})
      await deviceConnects(started, dataDir, 'acme', 'a-1')
      const pems = await storedKeys(connection, keyRing(kekFromBase64(KEK_1)))
      assert.ok(pems.length >= 7, `CA and server keys of demo, acme and globex and the pending CSR's, got ${pems.length}`)
      const needles = pems.flatMap(needlesOf)
      for (const [i, value] of (await everyRedisValue(connection)).entries()) assertHoldsNoKey(`Redis value ${i}`, value, needles)
      await connection.config('SET', 'rdbcompression', 'no')
      await connection.save()
      const redisFiles = await filesUnder(redis.dir)
      assert.ok(redisFiles.some(f => f.includes('appendonlydir') && f.endsWith('.incr.aof')), `an AOF among ${redisFiles.join(', ')}`)
      for (const file of redisFiles) assertHoldsNoKey(file, await readFile(file), needles)
      // The demo identities' keys and the admin API's TLS key are files handed to the operator and
      // the CLI (README, "Security model"); no registry key may be among the data dir's files.
      for (const file of await filesUnder(dataDir)) {
        const content = await readFile(file)
        needles.forEach((needle, i) => assert.equal(content.includes(needle), false, `${file} holds stored key material (needle ${i})`))
        if (!/bootstrap\/[^/]+\.key$/.test(file)) assert.equal(content.includes('PRIVATE KEY'), false, `${file} holds a PEM private key`)
      }
      // The admin API's TLS key is sealed under the KEK like the registry's.
      assert.ok((await readFile(path.join(dataDir, 'admin', 'server.key'), 'utf8')).startsWith(BLOB_PREFIX), 'admin/server.key is sealed')
      // A registry backup carries the keys as the store holds them: sealed.
      const backupFile = path.join(temp.dir, 'registry-backup.json')
      const backedUp = runMqgate(['registry', 'backup', backupFile], envOf(dataDir, { MQGATE_KEK_FILE: kek1File }))
      assert.equal(backedUp.status, 0, backedUp.stderr)
      const backup = await readFile(backupFile)
      assert.ok(backup.includes(BLOB_PREFIX), 'the backup holds the sealed keys')
      assertHoldsNoKey(backupFile, backup, needles)
    } finally {
      connection.disconnect()
      await started.stop()
    }
  })

  it('refuses a wrong KEK at start: CERTS_ERR_KEK_MISMATCH, one line, exit 1', async () => {
    const connection = redis.connect()
    const orgs = await connection.smembers('mqgate:registry:orgs')
    connection.disconnect()
    assert.ok(orgs.length > 0, 'the organisations of the test before are there, sealed under KEK_1')
    assertRefused(runMqgate(['start', '--workers', '1'], envOf(path.join(temp.dir, 'node-wrong'), { MQGATE_KEK: WRONG_KEK })), 'CERTS_ERR_KEK_MISMATCH')
  })

  it('seals the plaintext keys an earlier version left in Redis on the first start with a KEK, then serves that organisation', async () => {
    // As main wrote it before: an OrgRegistry straight on the Redis store, keys in the clear.
    const plain = await OrgRegistry.open(new RedisRegistryStore(redis.connect()), { serverNameFor: orgId => serverNameOf(orgId, 'localhost'), log: createLogSink().logger })
    await plain.createOrg('legacy')
    await plain.close()
    const connection = redis.connect()
    try {
      assert.match(JSON.stringify(await connection.hgetall('mqgate:registry:org:legacy')), /PRIVATE KEY/)
      const dataDir = path.join(temp.dir, 'node-b')
      // The admin API's key as an earlier version left it: PEM in admin/server.key.
      await ensureAdminCredentials(dataDir, undefined)
      assert.match(await readFile(path.join(dataDir, 'admin', 'server.key'), 'utf8'), /PRIVATE KEY/)
      const started = await startMqgate(envOf(dataDir, { MQGATE_KEK_FILE: kek1File }))
      try {
        assert.ok((await readFile(path.join(dataDir, 'admin', 'server.key'), 'utf8')).startsWith(`${BLOB_PREFIX}${kekFromBase64(KEK_1).kid}:`), 'admin/server.key sealed at start')
        const migrated = started.output().split('\n').filter(l => l.includes('"kek.migrated"')).map(l => JSON.parse(l))
        assert.deepEqual(migrated.filter(l => l.orgId !== undefined).map(l => `${String(l.orgId)}/${String(l.collection)}`).sort(), ['legacy/cas', 'legacy/server-certs'])
        assert.deepEqual(migrated.filter(l => l.orgId === undefined).map(l => path.relative(dataDir, String(l.file))), [path.join('admin', 'server.key')])
        assert.doesNotMatch(started.output(), /PRIVATE KEY/)
        const stored = JSON.stringify(await connection.hgetall('mqgate:registry:org:legacy'))
        assert.doesNotMatch(stored, /PRIVATE KEY/)
        assert.match(stored, new RegExp(`${BLOB_PREFIX}${kekFromBase64(KEK_1).kid}:`))
        await deviceConnects(started, dataDir, 'legacy', 'l-1')
      } finally {
        await started.stop()
      }
    } finally {
      connection.disconnect()
    }
  })

  it('rotate-kek re-encrypts every stored key; a process on the old KEK keeps accepting devices, a restart on the new one too', async () => {
    const oldDir = path.join(temp.dir, 'node-old')
    const running = await startMqgate(envOf(oldDir, { MQGATE_KEK_FILE: kek1File }))
    const connection = redis.connect()
    try {
      const rotated = runMqgate(['registry', 'rotate-kek', '--new-kek-file', kek2File], envOf(path.join(temp.dir, 'operator'), { MQGATE_KEK_FILE: kek1File }))
      assert.equal(rotated.status, 0, rotated.stderr)
      assert.match(rotated.stdout, new RegExp(`under key-encryption key ${kekFromBase64(KEK_2).kid}`))
      assert.doesNotMatch(rotated.stdout + rotated.stderr, /PRIVATE KEY/)
      const blobs = (await everyRedisValue(connection)).map(v => v.toString()).join('\n').match(/mqgate-kek:v1:[0-9a-f]{16}/g) ?? []
      assert.ok(blobs.length >= 8, `every stored key is a blob, got ${blobs.length}`)
      assert.deepEqual([...new Set(blobs)], [`${BLOB_PREFIX}${kekFromBase64(KEK_2).kid}`], 'all under the new key')
      await deviceConnects(running, oldDir, 'acme', 'during-rotation')
    } finally {
      connection.disconnect()
      await running.stop()
    }
    assertRefused(runMqgate(['start', '--workers', '1'], envOf(path.join(temp.dir, 'node-stale'), { MQGATE_KEK_FILE: kek1File })), 'CERTS_ERR_KEK_MISMATCH')
    const newDir = path.join(temp.dir, 'node-new')
    const restarted = await startMqgate(envOf(newDir, { MQGATE_KEK_FILE: kek2File, MQGATE_KEK_PREVIOUS_FILE: kek1File }))
    try {
      await deviceConnects(restarted, newDir, 'acme', 'after-rotation')
      await deviceConnects(restarted, newDir, 'legacy', 'after-rotation')
    } finally {
      await restarted.stop()
    }
  })
})

describe('mqgate on embedded defaults generates and rotates its own KEK (child processes)', function () {
  this.timeout(120_000)
  let temp: { dir: string, remove: () => Promise<void> }
  before(async () => { temp = await makeTempDir('kek-embedded') })
  after(async () => await temp?.remove())

  it('says in the welcome text that it generated <data dir>/kek (0600), seals the registry with it, and reuses it', async () => {
    const env = { REDIS_URL: '', MQGATE_KEK: '', MQGATE_KEK_FILE: '', MQGATE_DATA_DIR: temp.dir }
    const first = await startMqgate(env)
    try {
      const kekFile = path.join(temp.dir, 'kek')
      assert.match(first.output(), new RegExp(`key-encryption key was generated into ${kekFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(mode 0600\\)`))
      assert.equal((await stat(kekFile)).mode & 0o777, 0o600)
      for (const file of await filesUnder(path.join(temp.dir, 'orgs'))) {
        if (!file.includes(`${path.sep}bootstrap${path.sep}`)) assert.equal((await readFile(file)).includes('PRIVATE KEY'), false, file)
      }
    } finally {
      await first.stop()
    }
    const second = await startMqgate(env)
    try {
      assert.doesNotMatch(second.output(), /key-encryption key was generated/)
      await deviceConnects(second, temp.dir, 'demo', 'second-start')
    } finally {
      await second.stop()
    }
  })

  it('says in --help that rotate-kek works directly on the store, and lists the KEK variables', () => {
    const verb = runMqgate(['registry', 'rotate-kek', '--help'], {})
    assert.equal(verb.status, 0)
    assert.match(verb.stdout.replace(/\s+/g, ' '), /directly on the store/)
    const root = runMqgate(['--help'], {})
    for (const name of ['MQGATE_KEK', 'MQGATE_KEK_FILE', 'MQGATE_KEK_PREVIOUS', 'MQGATE_KEK_PREVIOUS_FILE']) assert.match(root.stdout, new RegExp(`\\b${name}\\b`))
  })

  it('rotate-kek on the data dir keeps the old key as kek.previous, and the next start runs on the new one', async () => {
    const env = { REDIS_URL: '', MQGATE_KEK: '', MQGATE_KEK_FILE: '', MQGATE_DATA_DIR: temp.dir }
    const oldKid = kekFromBase64(await readFile(path.join(temp.dir, 'kek'), 'utf8')).kid
    const newKek = path.join(temp.dir, 'new.kek')
    await writeFile(newKek, KEK_2 + '\n', { mode: 0o600 })
    const rotated = runMqgate(['registry', 'rotate-kek', '--new-kek-file', newKek], env)
    assert.equal(rotated.status, 0, rotated.stderr)
    assert.equal(kekFromBase64(await readFile(path.join(temp.dir, 'kek'), 'utf8')).kid, kekFromBase64(KEK_2).kid)
    assert.equal(kekFromBase64(await readFile(path.join(temp.dir, 'kek.previous'), 'utf8')).kid, oldKid)
    for (const file of await filesUnder(path.join(temp.dir, 'orgs'))) {
      const blobs = (await readFile(file, 'utf8')).match(/mqgate-kek:v1:[0-9a-f]{16}/g) ?? []
      for (const blob of blobs) assert.equal(blob, `${BLOB_PREFIX}${kekFromBase64(KEK_2).kid}`, file)
    }
    const started = await startMqgate(env)
    try {
      await deviceConnects(started, temp.dir, 'demo', 'after-rotation')
      // Sealed under the old key until this start, which seals it under the new one.
      assert.ok((await readFile(path.join(temp.dir, 'admin', 'server.key'), 'utf8')).startsWith(`${BLOB_PREFIX}${kekFromBase64(KEK_2).kid}:`), 'admin/server.key under the new KEK')
    } finally {
      await started.stop()
    }
  })
})
