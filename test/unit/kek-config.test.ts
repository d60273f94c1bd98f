import assert from 'node:assert/strict'
import { stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { kekFromBase64 } from '../../certs/index.js'
import { ConfigError, loadConfig } from '../../config/gateway-config.js'
import { resolveKeys } from '../../config/kek-config.js'
import { makeTempDir } from '../support/temp-dir.js'

const KEK = 'Zmlyc3Qta2V5LWVuY3J5cHRpb24ta2V5LW9mLXRlc3Q='
const SHORT = Buffer.alloc(16, 7).toString('base64')

function problemsOf (env: Record<string, string>): string {
  try {
    loadConfig(env)
  } catch (err) {
    assert.ok(err instanceof ConfigError)
    return err.message
  }
  return assert.fail('the configuration was accepted')
}

describe('configuration: the key-encryption key', () => {
  let temp: { dir: string, remove: () => Promise<void> }
  beforeEach(async () => { temp = await makeTempDir('kek-config') })
  afterEach(async () => await temp.remove())

  it('reads MQGATE_KEK (base64 of 32 bytes) and MQGATE_KEK_FILE into the frozen config, by key id', async () => {
    assert.equal(loadConfig({ MQGATE_KEK: KEK }).kek.current?.kid, kekFromBase64(KEK).kid)
    const file = path.join(temp.dir, 'kek')
    await writeFile(file, KEK + '\n')
    const cfg = loadConfig({ MQGATE_KEK_FILE: file, MQGATE_KEK_PREVIOUS: Buffer.alloc(32, 1).toString('base64') })
    assert.equal(cfg.kek.current?.kid, kekFromBase64(KEK).kid)
    assert.equal(cfg.kek.previous.length, 1)
    assert.ok(Object.isFrozen(cfg.kek))
  })

  it('refuses a key that is not 32 bytes, both variables at once, or an unreadable file, without echoing a key', () => {
    const short = problemsOf({ MQGATE_KEK: SHORT })
    assert.match(short, /MQGATE_KEK: .*exactly 32 bytes/)
    assert.equal(short.includes(SHORT), false, 'the value is not echoed')
    assert.match(problemsOf({ MQGATE_KEK: KEK, MQGATE_KEK_FILE: '/nonexistent' }), /MQGATE_KEK and MQGATE_KEK_FILE exclude each other/)
    assert.match(problemsOf({ MQGATE_KEK_FILE: path.join(temp.dir, 'missing') }), /MQGATE_KEK_FILE: cannot read .*ENOENT/)
  })

  it('requires a KEK with REDIS_URL: CONFIG_ERR_KEK_REQUIRED', async () => {
    await assert.rejects(resolveKeys(loadConfig({ REDIS_URL: 'redis://127.0.0.1:1', MQGATE_DATA_DIR: temp.dir })), { code: 'CONFIG_ERR_KEK_REQUIRED' })
  })

  it('generates <data dir>/kek (0600) once on embedded defaults, then reuses it', async () => {
    const cfg = loadConfig({ MQGATE_DATA_DIR: temp.dir })
    const first = await resolveKeys(cfg)
    assert.equal(first.generatedFile, path.join(temp.dir, 'kek'))
    assert.equal((await stat(path.join(temp.dir, 'kek'))).mode & 0o777, 0o600)
    const second = await resolveKeys(cfg)
    assert.equal(second.generatedFile, undefined)
    assert.equal(second.keys.current.kid, first.keys.current.kid)
  })
})
