import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { MQGATE_BIN, runCommand, showResult } from '../support/mqgate-cli.js'
import { ADMIN_TOKEN, startTestStack, type TestStack } from '../support/stack.js'
import { makeTempDir } from '../support/temp-dir.js'

const README = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../README.md')

/** Every ```sh block of one README section, in order, as one script. */
function readmeScript (heading: string): string {
  const text = readFileSync(README, 'utf8')
  const start = text.indexOf(`\n## ${heading}\n`)
  assert.ok(start >= 0, `README has a section "${heading}"`)
  const end = text.indexOf('\n## ', start + 1)
  const section = text.slice(start, end < 0 ? undefined : end)
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map(m => m[1])
  assert.ok(blocks.length > 0, `the section "${heading}" has shell blocks`)
  return blocks.join('\n')
}

/**
 * The README's "Bring your own PKI" commands, run as written with `sh -e` in
 * the directory of a running gateway (data in ./data, as `mqgate start` keeps
 * it), with `mqgate` on the PATH: root, intermediate and device made by
 * openssl, the root uploaded, mosquitto_pub sending the chain, the device
 * revoked through the intermediate's CRL, and renewed.
 */
describe('README: Bring your own PKI', function () {
  this.timeout(120_000)
  let stack: TestStack
  let temp: { dir: string, remove: () => Promise<void> }

  before(async function () {
    if (spawnSync('mosquitto_pub', ['--help']).error !== undefined) this.skip()
    temp = await makeTempDir('byo-pki')
    stack = await startTestStack({}, path.join(temp.dir, 'data'))
  })
  after(async () => {
    await stack?.close()
    await temp?.remove()
  })

  it('works as pasted: the chain connects, the CRL refuses the device, the renewed certificate connects', async () => {
    const bin = path.join(temp.dir, 'bin')
    mkdirSync(bin)
    writeFileSync(path.join(bin, 'mqgate'), `#!/bin/sh\nexec "${process.execPath}" "${MQGATE_BIN}" "$@"\n`)
    chmodSync(path.join(bin, 'mqgate'), 0o755)
    const script = path.join(temp.dir, 'byo-pki.sh')
    writeFileSync(script, readmeScript('Bring your own PKI'))
    const result = await runCommand('sh', ['-e', script], {
      cwd: temp.dir,
      env: { PATH: `${bin}:${process.env.PATH ?? ''}`, MQGATE_MQTT_PORT: String(stack.mqttPort), MQGATE_ADMIN_PORT: String(stack.adminPort), MQGATE_ADMIN_TOKEN: ADMIN_TOKEN },
      timeoutMs: 100_000
    })
    assert.equal(result.status, 0, showResult(result))
    assert.match(result.stdout, /refused: the device's certificate is revoked/, showResult(result))

    const byo = (l: Record<string, any>): boolean => l.clientId === 'd:demo:sensor:byo-001'
    const connected = stack.logs.lines.filter(l => byo(l) && l.event === 'client.connected')
    assert.equal(connected.length, 2, 'connected with the chain, and again once renewed')
    assert.notEqual(connected[0].serial, connected[1].serial)
    const refused = stack.logs.lines.filter(l => byo(l) && l.event === 'connect.refused')
    assert.deepEqual(refused.map(l => l.code), ['BROKER_ERR_CERT_REVOKED'])
    const uploaded = stack.running.registry.require('demo').cas.filter(c => c.kind === 'uploaded')
    assert.deepEqual(uploaded.map(c => c.description).sort(), ['Example Devices CA', 'Example Root CA'])
    assert.equal(uploaded.find(c => c.description === 'Example Devices CA')?.crl?.serials.length, 1)
  })
})
