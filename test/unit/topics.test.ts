import assert from 'node:assert/strict'
import { clientTopicFor, formatTopic, mayPublish, maySubscribe, parsePublishTopic, parseSubscribeFilter, type GatewayScope } from '../../broker/index.js'
import type { Identity } from '../../access/index.js'

const device: Identity = { kind: 'device', typeId: 'sensor', id: 'd1', commonName: 'd:sensor:d1' }
const gateway: Identity = { kind: 'gateway', typeId: 'gw', id: 'g1', commonName: 'g:gw:g1' }
const app: Identity = { kind: 'application', appId: 'dash', commonName: 'a:dash' }

interface Case { name: string, who: Identity, topic: string, scope?: GatewayScope, want: string }

function decidePublish (c: Case): string {
  const parsed = parsePublishTopic(c.topic, c.who)
  if (!parsed.ok) return parsed.code
  const decided = mayPublish(c.who, parsed.value, c.scope)
  return decided.ok ? formatTopic(decided.value) : decided.code
}

function decideSubscribe (c: Case): string {
  const parsed = parseSubscribeFilter(c.topic, c.who)
  if (!parsed.ok) return parsed.code
  const decided = maySubscribe(c.who, parsed.value, c.scope)
  return decided.ok ? formatTopic(decided.value) : decided.code
}

describe('topics: publish rules', () => {
  const cases: Case[] = [
    { name: 'a device short-form event becomes its canonical topic', who: device, topic: 'iot-2/evt/temp/fmt/json', want: 'iot-2/type/sensor/id/d1/evt/temp/fmt/json' },
    { name: 'a device may use the canonical form for itself', who: device, topic: 'iot-2/type/sensor/id/d1/evt/temp/fmt/json', want: 'iot-2/type/sensor/id/d1/evt/temp/fmt/json' },
    { name: 'a device may not publish as another device', who: device, topic: 'iot-2/type/sensor/id/d2/evt/temp/fmt/json', want: 'BROKER_ERR_TOPIC_NOT_OWNED' },
    { name: 'a device may not publish as another type with its id', who: device, topic: 'iot-2/type/other/id/d1/evt/temp/fmt/json', want: 'BROKER_ERR_TOPIC_NOT_OWNED' },
    { name: 'a device may not publish commands', who: device, topic: 'iot-2/cmd/reboot/fmt/json', want: 'BROKER_ERR_TOPIC_KIND_FORBIDDEN' },
    { name: '$SYS is outside the scheme', who: device, topic: '$SYS/broker/clients', want: 'BROKER_ERR_TOPIC_OUTSIDE_SCHEME' },
    { name: 'a bare topic is outside the scheme', who: device, topic: 'temps', want: 'BROKER_ERR_TOPIC_OUTSIDE_SCHEME' },
    { name: 'another organisation\'s internal prefix is outside the scheme', who: device, topic: '$org/other/iot-2/type/sensor/id/d1/evt/temp/fmt/json', want: 'BROKER_ERR_TOPIC_OUTSIDE_SCHEME' },
    { name: 'a topic with an extra level is outside the scheme', who: device, topic: 'iot-2/evt/temp/fmt/json/x', want: 'BROKER_ERR_TOPIC_OUTSIDE_SCHEME' },
    { name: 'a truncated topic is outside the scheme', who: device, topic: 'iot-2/evt/temp/fmt', want: 'BROKER_ERR_TOPIC_OUTSIDE_SCHEME' },
    { name: 'an event name with a space is refused', who: device, topic: 'iot-2/evt/te mp/fmt/json', want: 'BROKER_ERR_TOPIC_LEVEL_INVALID' },
    { name: 'an empty level is refused', who: device, topic: 'iot-2/evt//fmt/json', want: 'BROKER_ERR_TOPIC_LEVEL_INVALID' },
    { name: 'a NUL in a level is refused', who: device, topic: 'iot-2/evt/te\u0000mp/fmt/json', want: 'BROKER_ERR_TOPIC_LEVEL_INVALID' },
    { name: 'a non-ASCII level is refused', who: device, topic: 'iot-2/evt/temp\u00e9/fmt/json', want: 'BROKER_ERR_TOPIC_LEVEL_INVALID' },
    { name: 'a gateway publishes for a device of its org', who: gateway, topic: 'iot-2/type/sensor/id/d9/evt/temp/fmt/json', want: 'iot-2/type/sensor/id/d9/evt/temp/fmt/json' },
    { name: 'a gateway short-form event is its own', who: gateway, topic: 'iot-2/evt/status/fmt/json', want: 'iot-2/type/gw/id/g1/evt/status/fmt/json' },
    { name: 'a gateway limited to a list may not publish for others', who: gateway, scope: [{ typeId: 'sensor', id: 'd9' }], topic: 'iot-2/type/sensor/id/d8/evt/temp/fmt/json', want: 'BROKER_ERR_TOPIC_NOT_OWNED' },
    { name: 'a gateway limited to a type may publish for any device of it', who: gateway, scope: [{ typeId: 'sensor', id: '*' }], topic: 'iot-2/type/sensor/id/d8/evt/temp/fmt/json', want: 'iot-2/type/sensor/id/d8/evt/temp/fmt/json' },
    { name: 'an application publishes a command to any device', who: app, topic: 'iot-2/type/sensor/id/d1/cmd/reboot/fmt/json', want: 'iot-2/type/sensor/id/d1/cmd/reboot/fmt/json' },
    { name: 'an application may not publish events', who: app, topic: 'iot-2/type/sensor/id/d1/evt/temp/fmt/json', want: 'BROKER_ERR_TOPIC_KIND_FORBIDDEN' },
    { name: 'an application has no short form', who: app, topic: 'iot-2/cmd/reboot/fmt/json', want: 'BROKER_ERR_TOPIC_OUTSIDE_SCHEME' }
  ]
  for (const c of cases) it(c.name, () => assert.equal(decidePublish(c), c.want))
})

describe('topics: subscribe rules', () => {
  const cases: Case[] = [
    { name: 'a device subscribes to its commands in the short form', who: device, topic: 'iot-2/cmd/+/fmt/+', want: 'iot-2/type/sensor/id/d1/cmd/+/fmt/+' },
    { name: 'a device may use # under its commands', who: device, topic: 'iot-2/cmd/#', want: 'iot-2/type/sensor/id/d1/cmd/+/fmt/+' },
    { name: 'a device may not subscribe to another device\'s commands', who: device, topic: 'iot-2/type/sensor/id/d2/cmd/+/fmt/+', want: 'BROKER_ERR_TOPIC_NOT_OWNED' },
    { name: 'a device may not subscribe to every device\'s commands', who: device, topic: 'iot-2/type/sensor/id/+/cmd/+/fmt/+', want: 'BROKER_ERR_TOPIC_NOT_OWNED' },
    { name: 'a device may not subscribe to events', who: device, topic: 'iot-2/type/sensor/id/d1/evt/+/fmt/+', want: 'BROKER_ERR_TOPIC_KIND_FORBIDDEN' },
    { name: 'a device may not subscribe to #', who: device, topic: '#', want: 'BROKER_ERR_TOPIC_OUTSIDE_SCHEME' },
    { name: 'a gateway subscribes to commands of all its devices', who: gateway, topic: 'iot-2/type/+/id/+/cmd/+/fmt/+', want: 'iot-2/type/+/id/+/cmd/+/fmt/+' },
    { name: 'a gateway limited to one type may not subscribe to every type', who: gateway, scope: [{ typeId: 'sensor', id: '*' }], topic: 'iot-2/type/+/id/+/cmd/+/fmt/+', want: 'BROKER_ERR_TOPIC_NOT_OWNED' },
    { name: 'a gateway limited to one type may subscribe to that type', who: gateway, scope: [{ typeId: 'sensor', id: '*' }], topic: 'iot-2/type/sensor/id/+/cmd/+/fmt/+', want: 'iot-2/type/sensor/id/+/cmd/+/fmt/+' },
    { name: 'an application subscribes to every event of its org', who: app, topic: 'iot-2/type/+/id/+/evt/+/fmt/+', want: 'iot-2/type/+/id/+/evt/+/fmt/+' },
    { name: 'an application may subscribe to iot-2/#', who: app, topic: 'iot-2/#', want: 'iot-2/type/+/id/+/+/+/fmt/+' },
    { name: 'an application may not subscribe to #', who: app, topic: '#', want: 'BROKER_ERR_TOPIC_OUTSIDE_SCHEME' },
    { name: 'an application may not subscribe to $SYS', who: app, topic: '$SYS/#', want: 'BROKER_ERR_TOPIC_OUTSIDE_SCHEME' },
    { name: 'an application may not subscribe into another organisation', who: app, topic: '$org/other/iot-2/#', want: 'BROKER_ERR_TOPIC_OUTSIDE_SCHEME' },
    { name: 'an application may not subscribe to +/iot-2/#', who: app, topic: '+/iot-2/#', want: 'BROKER_ERR_TOPIC_OUTSIDE_SCHEME' }
  ]
  for (const c of cases) it(c.name, () => assert.equal(decideSubscribe(c), c.want))
})

describe('topics: what a receiver sees', () => {
  it('shows a device its own commands in the short form', () => {
    assert.equal(clientTopicFor(device, 'iot-2/type/sensor/id/d1/cmd/reboot/fmt/json'), 'iot-2/cmd/reboot/fmt/json')
  })
  it('shows gateways and applications the canonical topic', () => {
    assert.equal(clientTopicFor(gateway, 'iot-2/type/sensor/id/d1/cmd/reboot/fmt/json'), 'iot-2/type/sensor/id/d1/cmd/reboot/fmt/json')
    assert.equal(clientTopicFor(app, 'iot-2/type/sensor/id/d1/evt/temp/fmt/json'), 'iot-2/type/sensor/id/d1/evt/temp/fmt/json')
  })
})
