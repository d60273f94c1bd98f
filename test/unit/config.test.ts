import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadConfig } from '../../config/gateway-config.js'

const README = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../README.md')

/** The README's environment table: variable → the default it documents, for plain numbers. */
function documentedNumbers (): Map<string, number> {
  const rows = readFileSync(README, 'utf8').split('\n').map(line => /^\| `(MQGATE_[A-Z_]+)` \| `(\d+)` \|/.exec(line)).filter(m => m !== null)
  return new Map(rows.map(m => [m[1], Number(m[2])]))
}

describe('configuration: the broker limits by default are the ones the README documents', () => {
  const limits = loadConfig({}).broker.limits
  const cases: Array<[string, number]> = [
    ['MQGATE_TLS_HANDSHAKE_TIMEOUT_MS', limits.handshakeTimeoutMs],
    ['MQGATE_CONNECT_TIMEOUT_MS', limits.connectTimeoutMs],
    ['MQGATE_KEEPALIVE_MAX_S', limits.keepaliveMaxSeconds],
    ['MQGATE_MAX_PACKET_BYTES', limits.maxPacketBytes],
    ['MQGATE_MAX_CONNECTIONS_PER_IP', limits.connectionsPerIp],
    ['MQGATE_MAX_CONNECTIONS', limits.connectionsTotal],
    ['MQGATE_CONNECTION_RATE_PER_IP', limits.connectionRatePerIp],
    ['MQGATE_DRAIN_TIMEOUT_MS', limits.drainTimeoutMs],
    ['MQGATE_MAX_INFLIGHT_INBOUND', limits.maxInflightInbound],
    ['MQGATE_MAX_CHAIN_DEPTH', loadConfig({}).broker.maxChainDepth],
    ['MQGATE_BROKER_HEARTBEAT_MS', limits.heartbeatMs],
    ['MQGATE_MAX_SUBSCRIPTIONS_PER_CLIENT', limits.maxSubscriptionsPerClient],
    ['MQGATE_PUBLISH_RATE_PER_CLIENT', limits.publishRatePerClient],
    ['MQGATE_PUBLISH_BYTES_PER_CLIENT', limits.publishBytesPerClient],
    ['MQGATE_MAX_QUEUED_BYTES_PER_CLIENT', limits.maxQueuedBytesPerClient],
    ['MQGATE_CONSOLE_IDLE_MINUTES', loadConfig({}).admin.console.idleMs / 60_000]
  ]
  const documented = documentedNumbers()
  for (const [variable, value] of cases) {
    it(`${variable}: ${value}`, () => assert.equal(documented.get(variable), value))
  }

  it('holds a stuck subscriber\'s publishers for 5 s at most, not 30 s', () => {
    assert.equal(limits.drainTimeoutMs, 5000)
  })
})

describe('configuration: MQGATE_MAX_CHAIN_DEPTH', () => {
  it('admits a device and three intermediates by default', () => {
    assert.equal(loadConfig({}).broker.maxChainDepth, 4)
  })

  it('is read from the environment, 1 to 16', () => {
    assert.equal(loadConfig({ MQGATE_MAX_CHAIN_DEPTH: '2' }).broker.maxChainDepth, 2)
    assert.throws(() => loadConfig({ MQGATE_MAX_CHAIN_DEPTH: '0' }), { code: 'CONFIG_ERR_INVALID' })
    assert.throws(() => loadConfig({ MQGATE_MAX_CHAIN_DEPTH: '17' }), { code: 'CONFIG_ERR_INVALID' })
  })
})

describe('configuration: MQGATE_PKI_HTTP_PORT, and the CRL and OCSP URLs that follow it', () => {
  it('serves CRLs and OCSP on 8080 by default, and names that port in the CRL and OCSP URLs', () => {
    const cfg = loadConfig({ MQGATE_DOMAIN: 'example.com' })
    assert.equal(cfg.pkiHttp.port, 8080)
    assert.equal(cfg.crlUrlTemplate, 'http://{org}.messaging.example.com:8080/crl/{org}.crl')
    assert.equal(cfg.ocspUrlTemplate, 'http://{org}.messaging.example.com:8080/ocsp/{org}')
  })

  it('with the port off (0), points CRLs to the temps API over HTTPS and names no responder', () => {
    const cfg = loadConfig({ MQGATE_DOMAIN: 'example.com', MQGATE_PKI_HTTP_PORT: '0' })
    assert.equal(cfg.crlUrlTemplate, 'https://{org}.messaging.example.com:8443/crl/{org}.crl')
    assert.equal(cfg.ocspUrlTemplate, undefined)
  })

  it('takes MQGATE_OCSP_URL as given, none as no responder, and refuses anything but an http(s) URL', () => {
    assert.equal(loadConfig({ MQGATE_OCSP_URL: 'http://ocsp.example.com/{org}' }).ocspUrlTemplate, 'http://ocsp.example.com/{org}')
    assert.equal(loadConfig({ MQGATE_OCSP_URL: 'none' }).ocspUrlTemplate, undefined)
    assert.throws(() => loadConfig({ MQGATE_OCSP_URL: 'ldap://x' }), { code: 'CONFIG_ERR_INVALID' })
    assert.throws(() => loadConfig({ MQGATE_PKI_HTTP_PORT: '70000' }), { code: 'CONFIG_ERR_INVALID' })
  })
})

describe('configuration: MQGATE_LOG_FORMAT', () => {
  it('leaves the format to the entry when unset or empty (the terminal decides there)', () => {
    assert.equal(loadConfig({}).logFormat, undefined)
    assert.equal(loadConfig({ MQGATE_LOG_FORMAT: '' }).logFormat, undefined)
  })

  it('takes json and pretty', () => {
    assert.equal(loadConfig({ MQGATE_LOG_FORMAT: 'json' }).logFormat, 'json')
    assert.equal(loadConfig({ MQGATE_LOG_FORMAT: 'pretty' }).logFormat, 'pretty')
  })

  it('refuses anything else with CONFIG_ERR_INVALID, among the other problems', () => {
    assert.throws(() => loadConfig({ MQGATE_LOG_FORMAT: 'xml', MQGATE_MQTT_PORT: 'http' }), (err: any) =>
      err.code === 'CONFIG_ERR_INVALID' && err.problems.length === 2 && err.problems.some((p: string) => p.startsWith('MQGATE_LOG_FORMAT must be one of json, pretty')))
  })
})

describe('configuration: MQGATE_RENEW_GRACE', () => {
  it('waits 10 minutes after a renewed certificate\'s first use by default, as the README says', () => {
    assert.equal(loadConfig({}).renewal.graceMs, 600_000)
    assert.match(readFileSync(README, 'utf8'), /^\| `MQGATE_RENEW_GRACE` \| `10m` \|/m)
  })

  it('reads 1s, 10m, 1h, 1d and bare milliseconds', () => {
    for (const [raw, ms] of [['1s', 1000], ['10m', 600_000], ['1h', 3_600_000], ['1d', 86_400_000], ['250', 250], ['0', 0]] as const) {
      assert.equal(loadConfig({ MQGATE_RENEW_GRACE: raw }).renewal.graceMs, ms, raw)
    }
  })

  it('refuses a word, a negative or more than 30 days, naming the variable', () => {
    for (const raw of ['soon', '-1s', '31d', '1.5m']) {
      assert.throws(() => loadConfig({ MQGATE_RENEW_GRACE: raw }), (err: any) => err.code === 'CONFIG_ERR_INVALID' && err.problems.some((p: string) => p.startsWith('MQGATE_RENEW_GRACE')), raw)
    }
  })
})
