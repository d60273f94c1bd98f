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
    ['MQGATE_MAX_QUEUED_BYTES_PER_CLIENT', limits.maxQueuedBytesPerClient]
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
