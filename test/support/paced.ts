import assert from 'node:assert/strict'
import type { MqttClient } from 'mqtt'
import { sleep } from './mqtt-client.js'

/** A well-behaved device beside a flood: `count` QoS 1 events, one every `everyMs`, each carrying when it was sent. */
export async function publishPaced (client: MqttClient, count = 40, everyMs = 50): Promise<void> {
  for (let n = 0; n < count; n++) {
    void client.publishAsync('iot-2/evt/status/fmt/json', JSON.stringify({ n, sent: Date.now() }), { qos: 1 })
    await sleep(everyMs)
  }
}

/**
 * What reached the subscriber since `started` under a limit of `rate` messages
 * a second: a second's burst plus `rate` a second, in a generous band (a loaded
 * machine); unlimited, everything would have arrived in well under a second.
 */
export function assertAboutRate (arrived: number, started: number, rate: number, total: number, limited = ''): void {
  const elapsed = (Date.now() - started) / 1000
  const expected = rate + rate * elapsed
  assert.ok(arrived >= expected * 0.4 && arrived <= expected * 1.6, `${arrived} of ${total} arrived after ${elapsed.toFixed(1)} s (about ${Math.round(expected)} at ${rate}/s${limited})`)
}
