import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { createEnrollToken, setRenewalWindow } from '../../certs/index.js'
import { assertExitedZero, runCommand, showResult, type CliResult } from '../support/mqgate-cli.js'
import { freePort } from '../support/redis-server.js'
import { startTestStack, type TestStack } from '../support/stack.js'
import { makeTempDir } from '../support/temp-dir.js'

/**
 * Issue 13: EST is served "on the temps API's HTTPS port, and on port 443
 * mode": the shared TLS port (MQGATE_TLS_PORT) hands HTTPS to the same temps
 * app, so enrollment and renewal work there too, with curl and openssl as the
 * device, and what they give connects on the same port with ALPN mqtt.
 */
describe('access: EST on the shared TLS port (MQGATE_TLS_PORT)', function () {
  this.timeout(60_000)
  let stack: TestStack
  let temp: { dir: string, remove: () => Promise<void> }
  let port = 0

  before(async () => {
    port = await freePort()
    stack = await startTestStack({ MQGATE_TLS_PORT: String(port) })
    temp = await makeTempDir('est-shared-port')
    writeFileSync(path.join(temp.dir, 'ca.pem'), stack.caPem)
  })
  after(async () => {
    await stack?.close()
    await temp?.remove()
  })

  const sh = async (lines: readonly string[], env: Record<string, string> = {}): Promise<CliResult> =>
    await runCommand('sh', ['-ec', lines.join('\n')], { cwd: temp.dir, env: { EST: `https://demo.messaging.localhost:${port}/.well-known/est`, PORT: String(port), ...env } })

  it('enrolls with a one-time token, renews with the certificate, and each connects over MQTT on the same port', async () => {
    const { token } = await createEnrollToken(stack.running.registry, 'demo', { commonName: 'd:sensor:shared-1' }, 'test')
    assertExitedZero(await sh([
      'openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout device.key -subj \'/CN=d:sensor:shared-1\' -outform DER -out device.csr',
      'openssl base64 -in device.csr -out device.b64',
      'curl -sS --fail-with-body --cacert ca.pem -u "device:$TOKEN" -H \'Content-Type: application/pkcs10\' --data-binary @device.b64 -o device.p7 "$EST/simpleenroll"',
      'openssl base64 -d -in device.p7 | openssl pkcs7 -inform DER -print_certs -out device.crt',
      'mosquitto_pub -h 127.0.0.1 -p "$PORT" --tls-alpn mqtt --cafile ca.pem --cert device.crt --key device.key -i d:demo:sensor:shared-1 -q 1 -t iot-2/evt/temp/fmt/json -m \'{"temperature":20,"time":"2026-01-01T00:00:00Z"}\''
    ], { TOKEN: token }))
    await setRenewalWindow(stack.running.registry, 'demo', 'any', 'test')
    const renewed = await sh([
      'openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout new.key -subj \'/CN=d:sensor:shared-1\' -outform DER -out new.csr',
      'openssl base64 -in new.csr -out new.b64',
      'curl -sS --fail-with-body --cacert ca.pem --cert device.crt --key device.key -H \'Content-Type: application/pkcs10\' --data-binary @new.b64 -o new.p7 "$EST/simplereenroll"',
      'openssl base64 -d -in new.p7 | openssl pkcs7 -inform DER -print_certs -out new.crt',
      'openssl x509 -in new.crt -noout -subject',
      'mosquitto_pub -h 127.0.0.1 -p "$PORT" --tls-alpn mqtt --cafile ca.pem --cert new.crt --key new.key -i d:demo:sensor:shared-1 -q 1 -t iot-2/evt/temp/fmt/json -m \'{"temperature":21,"time":"2026-01-01T00:00:01Z"}\''
    ])
    assertExitedZero(renewed)
    assert.match(renewed.stdout, /subject=CN = d:sensor:shared-1/, showResult(renewed))
    assert.ok(stack.logs.find(l => l.action === 'cert.renew' && l.commonName === 'd:sensor:shared-1'), 'the renewal is on the record')
  })

  it('serves cacerts there, which openssl reads as PKCS#7 certs-only', async () => {
    const run = await sh(['curl -sS --fail-with-body --cacert ca.pem -o cacerts.p7 "$EST/cacerts"', 'openssl base64 -d -in cacerts.p7 | openssl pkcs7 -inform DER -print_certs | grep -c "BEGIN CERTIFICATE"'])
    assertExitedZero(run)
    assert.ok(Number(run.stdout.trim()) >= 1, showResult(run))
  })
})
