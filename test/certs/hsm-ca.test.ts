import assert from 'node:assert/strict'
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import pkcs11js from 'pkcs11js'
import { Pkcs11Keys } from '../../certs/pkcs11-signer.js'
import { connect, endAll, tryConnect } from '../support/mqtt-client.js'
import { assertExitedZero as assertDone, cliJson, MQGATE_BIN as MQGATE } from '../support/mqgate-cli.js'
import { startMqgateProcess, type MqgateProcess } from '../support/mqgate-process.js'
import { openssl } from '../support/openssl.js'
import { fetchServedCrl, verifyWithServedCrl } from '../support/served-crl.js'
import { freePort } from '../support/redis-server.js'
import { makeTempDir } from '../support/temp-dir.js'

/**
 * Issue 17 part 2: a managed CA whose key lives in a PKCS#11 token
 * (SoftHSM2, initialised by the test in a temp dir). Observed as an operator
 * would: a real `mqgate start` child, the CLI, openssl and an MQTT client;
 * the registry's files are then searched for any key of that CA.
 */

const MODULE = '/usr/lib/softhsm/libsofthsm2.so'
const PIN = '5678'
function softhsmAvailable (): boolean {
  return spawnSync('softhsm2-util', ['--version']).status === 0
}

/** Every file under `dir`, recursively. */
function filesUnder (dir: string): string[] {
  return readdirSync(dir).flatMap(name => {
    const file = path.join(dir, name)
    return statSync(file).isDirectory() ? filesUnder(file) : [file]
  })
}

/** The private keys (PEM) found anywhere in those files, JSON-escaped or not. */
function privateKeysIn (files: readonly string[]): string[] {
  return files.flatMap(file => {
    const text = readFileSync(file, 'latin1').replaceAll('\\n', '\n')
    return [...text.matchAll(/-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g)].map(m => m[0])
  })
}

describe('a managed CA whose key is in a PKCS#11 token (SoftHSM2)', function () {
  this.timeout(120_000)
  let gateway: MqgateProcess
  let token: { dir: string, remove: () => Promise<void> }
  let hsmEnv: Record<string, string>
  /** A P-384 key made in the token before the gateway starts, as a key ceremony with the HSM's own tools would. */
  let ceremonyKeyPem: string
  const savedConf = process.env.SOFTHSM2_CONF
  /** The PKI HTTP port: the token's CA signs its OCSP signer's certificate, the signer the responses. */
  let pkiPort: number

  before(async function () {
    if (!softhsmAvailable()) this.skip() // softhsm2-util is absent: install Debian's softhsm2 to run these
    token = await makeTempDir('softhsm')
    const conf = path.join(token.dir, 'softhsm2.conf')
    writeFileSync(conf, `directories.tokendir = ${token.dir}\nobjectstore.backend = file\nlog.level = ERROR\n`)
    execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 't', '--so-pin', '1234', '--pin', PIN], { env: { ...process.env, SOFTHSM2_CONF: conf }, stdio: 'pipe' })
    hsmEnv = { SOFTHSM2_CONF: conf, MQGATE_PKCS11_MODULE: MODULE, MQGATE_PKCS11_PIN: PIN }
    // SoftHSM reads its configuration from this process's environment too, for the ceremony key and the attribute check.
    process.env.SOFTHSM2_CONF = conf
    const keys = new Pkcs11Keys({ modulePath: MODULE, pin: PIN })
    try {
      ceremonyKeyPem = keys.prepare('pkcs11:token=t;object=ceremony-ca', 'p384').publicKeyPem
    } finally {
      keys.close()
    }
    pkiPort = await freePort()
    gateway = await startMqgateProcess({ ...hsmEnv, MQGATE_PKI_HTTP_PORT: String(pkiPort) })
  })
  after(async () => {
    if (savedConf === undefined) delete process.env.SOFTHSM2_CONF
    else process.env.SOFTHSM2_CONF = savedConf
    await gateway?.stop()
    await token?.remove()
  })

  const json = async (args: readonly string[]): Promise<any> => await cliJson(gateway.cli, args)

  for (const { keyType, signature } of [{ keyType: 'rsa', signature: 'sha256WithRSAEncryption' }, { keyType: 'p256', signature: 'ecdsa-with-SHA256' }]) {
    it(`signs a ${keyType} CA, a device certificate, the CRL and the OCSP signer in the token: openssl verifies them (and the OCSP answers), the device connects, the revoked one is refused`, async () => {
      const orgId = `hsm-${keyType}`
      const uri = `pkcs11:token=t;object=${orgId}-ca`
      const created = await json(['org', 'create', orgId, '--ca-key', uri, ...(keyType === 'rsa' ? [] : ['--ca-key-type', keyType])])
      assert.equal(created.ca_key_uri, uri)
      assert.equal(created.ca_key_type, keyType)
      const dir = path.join(gateway.dataDir, 'hsm-out', keyType)
      const good = await json(['cert', 'issue', orgId, '--cn', 'd:sensor:good', '--out', dir])
      const bad = await json(['cert', 'issue', orgId, '--cn', 'd:sensor:bad', '--out', dir])
      const caPem = good.ca_certificate as string
      assert.match(openssl(['x509', '-in', path.join(dir, 'ca.pem'), '-noout', '-text']), new RegExp(`Signature Algorithm: ${signature}`))
      assert.match(openssl(['verify', '-CAfile', path.join(dir, 'ca.pem'), path.join(dir, 'ca.pem')]), /: OK/, 'the self-signed root was signed by the token\'s key')
      assert.match(openssl(['verify', '-CAfile', path.join(dir, 'ca.pem'), path.join(dir, 'd_sensor_good.crt')]), /d_sensor_good\.crt: OK/)

      const cert = (cn: string): { certPem: string, keyPem: string } =>
        ({ certPem: readFileSync(path.join(dir, `${cn.replaceAll(':', '_')}.crt`), 'utf8'), keyPem: readFileSync(path.join(dir, `${cn.replaceAll(':', '_')}.key`), 'utf8') })
      // The server certificate the broker answers with is the token's too: the client checks it against this CA.
      const device = await connect({ port: gateway.mqttPort, servername: `${orgId}.messaging.localhost`, caPem, cert: cert('d:sensor:good'), clientId: `d:${orgId}:sensor:good` })
      await endAll(device)

      assertDone(await gateway.cli(['cert', 'revoke', orgId, bad.serial_number]))
      writeFileSync(path.join(dir, 'served.crl.pem'), openssl(['crl', '-inform', 'DER'], { input: await fetchServedCrl(gateway, orgId, caPem) }))
      const crlCheck = spawnSync('openssl', ['crl', '-in', path.join(dir, 'served.crl.pem'), '-CAfile', path.join(dir, 'ca.pem'), '-noout'], { encoding: 'utf8' })
      assert.match(crlCheck.stdout + crlCheck.stderr, /verify OK/, 'the CRL\'s signature verifies under the CA')
      assert.match(verifyWithServedCrl(dir, path.join(dir, 'd_sensor_good.crt')), /d_sensor_good\.crt: OK/)
      assert.match(verifyWithServedCrl(dir, path.join(dir, 'd_sensor_bad.crt')), /certificate revoked/)
      for (const [cn, status] of [['good', 'good'], ['bad', 'revoked']]) {
        const certFile = path.join(dir, `d_sensor_${cn}.crt`)
        const asked = spawnSync('openssl', ['ocsp', '-issuer', path.join(dir, 'ca.pem'), '-cert', certFile, '-url', `http://127.0.0.1:${pkiPort}/ocsp/${orgId}`, '-CAfile', path.join(dir, 'ca.pem')], { encoding: 'utf8' })
        assert.match(asked.stdout, new RegExp(`d_sensor_${cn}\\.crt: ${status}`), asked.stdout + asked.stderr)
        assert.match(asked.stderr, /Response verify OK/, 'the delegated signer the token\'s CA issued signs the OCSP response')
      }

      // No key material for that CA in the registry: its record names the token key, and no private key stored anywhere is the CA's.
      const caRecord = JSON.parse(readFileSync(path.join(gateway.dataDir, 'orgs', orgId, 'cas', `${created.managed_ca_id as string}.json`), 'utf8'))
      assert.equal(caRecord.keyUri, uri)
      assert.equal(caRecord.keyPem, undefined)
      const caCert = new X509Certificate(caPem)
      const keys = privateKeysIn(filesUnder(path.join(gateway.dataDir, 'orgs')))
      assert.ok(keys.length > 0, 'the demo bootstrap keys are found, so the search works')
      for (const key of keys) assert.equal(caCert.checkPrivateKey(createPrivateKey(key)), false, 'a stored private key is the CA\'s')
      // The control: a CA made without --ca-key keeps its key in its record (sealed under the KEK, issue 17 part 1).
      const demoOrg = JSON.parse(readFileSync(path.join(gateway.dataDir, 'orgs', 'demo', 'org.json'), 'utf8'))
      const demoCaRecord = JSON.parse(readFileSync(path.join(gateway.dataDir, 'orgs', 'demo', 'cas', `${demoOrg.managedCaId as string}.json`), 'utf8'))
      assert.match(demoCaRecord.keyPem, /^mqgate-kek:v1:/, 'the demo CA record holds its sealed key')
    })
  }

  it('moves an existing organisation\'s CA into the token (org ca-key move-to): a new CA signs there, the old one keeps its devices trusted and loses its key', async () => {
    const orgId = 'hsm-move'
    const before = await json(['org', 'create', orgId])
    assert.equal(before.ca_key_uri, null)
    const oldDir = path.join(gateway.dataDir, 'hsm-out', 'move-old')
    const old = await json(['cert', 'issue', orgId, '--cn', 'd:sensor:old', '--out', oldDir])
    const oldCaFile = path.join(gateway.dataDir, 'orgs', orgId, 'cas', `${before.managed_ca_id as string}.json`)
    assert.match(JSON.parse(readFileSync(oldCaFile, 'utf8')).keyPem, /^mqgate-kek:v1:/, 'the control: before the move the CA key is in the registry')
    // An OCSP answer before the move: the old CA's delegated signer, its key sealed on the CA's record.
    const oldCertFile = path.join(oldDir, 'd_sensor_old.crt')
    writeFileSync(path.join(oldDir, 'old-ca.pem'), old.ca_certificate)
    const askedBefore = spawnSync('openssl', ['ocsp', '-issuer', path.join(oldDir, 'old-ca.pem'), '-cert', oldCertFile, '-url', `http://127.0.0.1:${pkiPort}/ocsp/${orgId}`, '-CAfile', path.join(oldDir, 'old-ca.pem')], { encoding: 'utf8' })
    assert.match(askedBefore.stdout, /d_sensor_old\.crt: good/, askedBefore.stdout + askedBefore.stderr)
    assert.match(JSON.parse(readFileSync(oldCaFile, 'utf8')).ocspSignerKeyPem, /^mqgate-kek:v1:/, 'the control: the old CA\'s OCSP signer key is on its record')

    const uri = 'pkcs11:token=t;object=hsm-move-ca'
    const moved = await json(['org', 'ca-key', orgId, 'move-to', uri, '--ca-key-type', 'p256'])
    assert.equal(moved.ca_key_uri, uri)
    assert.equal(moved.ca_key_type, 'p256')
    assert.notEqual(moved.managed_ca_id, before.managed_ca_id)
    const newCa = JSON.parse(readFileSync(path.join(gateway.dataDir, 'orgs', orgId, 'cas', `${moved.managed_ca_id as string}.json`), 'utf8'))
    assert.equal(newCa.keyUri, uri)
    assert.equal(newCa.keyPem, undefined)
    const retired = JSON.parse(readFileSync(oldCaFile, 'utf8'))
    assert.equal(retired.keyPem, undefined, 'the old CA\'s key is deleted from the registry')
    assert.equal(retired.ocspSignerKeyPem, undefined, 'so is the key of the OCSP signer it certified: nothing answers for the old CA any more')
    assert.equal(retired.ocspSignerCertPem, undefined)
    assert.equal(retired.kind, 'uploaded')
    assert.doesNotMatch(readFileSync(oldCaFile, 'utf8'), /mqgate-kek:v1:/)

    // A device of the old CA still connects, with the CA file it was given.
    const certOf = (dir: string, cn: string): { certPem: string, keyPem: string } =>
      ({ certPem: readFileSync(path.join(dir, `${cn.replaceAll(':', '_')}.crt`), 'utf8'), keyPem: readFileSync(path.join(dir, `${cn.replaceAll(':', '_')}.key`), 'utf8') })
    const servername = `${orgId}.messaging.localhost`
    await endAll(await connect({ port: gateway.mqttPort, servername, caPem: old.ca_certificate, cert: certOf(oldDir, 'd:sensor:old'), clientId: `d:${orgId}:sensor:old` }))

    // A new device is signed in the token; the CA file it gets trusts the server now (old CA) and later (new CA).
    const newDir = path.join(gateway.dataDir, 'hsm-out', 'move-new')
    const fresh = await json(['cert', 'issue', orgId, '--cn', 'd:sensor:new', '--out', newDir])
    writeFileSync(path.join(newDir, 'token-ca.pem'), newCa.certPem)
    assert.match(openssl(['verify', '-CAfile', path.join(newDir, 'token-ca.pem'), path.join(newDir, 'd_sensor_new.crt')]), /d_sensor_new\.crt: OK/)
    assert.equal(new X509Certificate(readFileSync(path.join(newDir, 'd_sensor_new.crt'), 'utf8')).verify(new X509Certificate(old.ca_certificate).publicKey), false, 'not signed by the old CA')
    await endAll(await connect({ port: gateway.mqttPort, servername, caPem: fresh.ca_certificate, cert: certOf(newDir, 'd:sensor:new'), clientId: `d:${orgId}:sensor:new` }))

    // Both stay revocable, and the CRL is the token's.
    assertDone(await gateway.cli(['cert', 'revoke', orgId, fresh.serial_number]))
    assertDone(await gateway.cli(['cert', 'revoke', orgId, old.serial_number]))
    for (const [dir, cn, caPem] of [[newDir, 'd:sensor:new', fresh.ca_certificate], [oldDir, 'd:sensor:old', old.ca_certificate]]) {
      const outcome = await tryConnect({ port: gateway.mqttPort, servername, caPem, cert: certOf(dir, cn), clientId: `d:${orgId}:${cn.slice(2)}` })
      assert.deepEqual(outcome, { outcome: 'connack', returnCode: 5 }, cn)
    }
    writeFileSync(path.join(newDir, 'served.crl.pem'), openssl(['crl', '-inform', 'DER'], { input: await fetchServedCrl(gateway, orgId, fresh.ca_certificate) }))
    const crlCheck = spawnSync('openssl', ['crl', '-in', path.join(newDir, 'served.crl.pem'), '-CAfile', path.join(newDir, 'token-ca.pem'), '-noout'], { encoding: 'utf8' })
    assert.match(crlCheck.stdout + crlCheck.stderr, /verify OK/, 'the CRL is signed by the token\'s CA')
  })

  it('uses a key the token already holds, named by the URI, instead of generating one', async () => {
    const created = await json(['org', 'create', 'hsm-ceremony', '--ca-key', 'pkcs11:token=t;object=ceremony-ca'])
    assert.equal(created.ca_key_type, 'p384')
    const ca = (await json(['ca', 'list', 'hsm-ceremony'])).cas.find((c: any) => c.kind === 'managed')
    assert.equal(new X509Certificate(ca.certificate).publicKey.export({ type: 'spki', format: 'pem' }), ceremonyKeyPem)
    const issued = await json(['cert', 'issue', 'hsm-ceremony', '--cn', 'd:sensor:one'])
    assert.ok(new X509Certificate(issued.certificate).verify(new X509Certificate(ca.certificate).publicKey))
  })

  it('refuses a second organisation on a token key another organisation\'s CA uses', async () => {
    const result = await gateway.cli(['org', 'create', 'hsm-again', '--ca-key', 'pkcs11:token=t;object=hsm-rsa-ca'])
    assert.equal(result.status, 1)
    assert.match(result.stderr, /CERTS_ERR_HSM_KEY_IN_USE/)
  })

  it('refuses to start with a wrong PIN, with its code and without a stack trace or the PIN', async () => {
    await new Promise(resolve => { gateway.child.once('exit', resolve); gateway.child.kill('SIGTERM') })
    const child = spawn(process.execPath, [MQGATE, 'start'], {
      env: { ...process.env, ...hsmEnv, MQGATE_PKCS11_PIN: '9999', MQGATE_DATA_DIR: gateway.dataDir, MQGATE_MQTT_PORT: '0', MQGATE_ADMIN_PORT: '0', MQGATE_WS_PORT: '0', MQGATE_PKI_HTTP_PORT: '0', MQGATE_API_PORT: '0', REDIS_URL: '', MQGATE_LOG_LEVEL: 'error' },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let output = ''
    child.stdout.setEncoding('utf8').on('data', chunk => { output += chunk })
    child.stderr.setEncoding('utf8').on('data', chunk => { output += chunk })
    // A start that comes up anyway prints its welcome text: stop it there rather than wait for the timeout.
    const status = await new Promise(resolve => {
      child.once('close', resolve)
      child.stdout.on('data', () => { if (output.includes('mosquitto_pub ')) child.kill('SIGKILL') })
    })
    assert.equal(status, 1, output)
    assert.match(output, /CERTS_ERR_HSM_PIN/)
    assert.doesNotMatch(output, /\n\s+at /, 'no stack trace')
    assert.doesNotMatch(output, /9999/, 'no PIN')
  })

  it('keeps the generated CA keys in the token as sensitive and not extractable (PKCS#11 3.0 4.9)', () => {
    const module = new pkcs11js.PKCS11()
    module.load(MODULE)
    module.C_Initialize()
    try {
      const session = module.C_OpenSession(module.C_GetSlotList(true)[0], pkcs11js.CKF_SERIAL_SESSION)
      module.C_Login(session, pkcs11js.CKU_USER, PIN)
      for (const label of ['hsm-rsa-ca', 'hsm-p256-ca']) {
        module.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }, { type: pkcs11js.CKA_LABEL, value: label }])
        const found = module.C_FindObjects(session, 2)
        module.C_FindObjectsFinal(session)
        assert.equal(found.length, 1, label)
        const [sensitive, extractable] = module.C_GetAttributeValue(session, found[0], [{ type: pkcs11js.CKA_SENSITIVE }, { type: pkcs11js.CKA_EXTRACTABLE }])
        assert.deepEqual([sensitive.value, extractable.value], [Buffer.from([1]), Buffer.from([0])], label)
      }
    } finally {
      module.C_Finalize()
    }
  })
})
