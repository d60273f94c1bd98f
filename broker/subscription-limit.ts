import type { Client } from 'aedes'

/**
 * MQGATE_MAX_SUBSCRIPTIONS_PER_CLIENT, as EMQX's `max_subscriptions`: a filter
 * that would take a client past the limit is refused (SUBACK 0x80), the others
 * of its SUBSCRIBE are granted. Re-subscribing to a filter the client holds
 * takes no new place.
 *
 * aedes authorizes every filter of one SUBSCRIBE in one synchronous loop and
 * adds them to `client.subscriptions` only later: the filters granted in that
 * loop are counted here until the next tick.
 */
export function createSubscriptionLimit (max: number): (client: Client, topic: string) => boolean {
  const granting = new WeakMap<Client, Set<string>>()
  return (client, topic) => {
    const held = (client as unknown as { subscriptions?: Record<string, unknown> }).subscriptions ?? {}
    if (Object.hasOwn(held, topic)) return true
    let pending = granting.get(client)
    if (pending === undefined) {
      pending = new Set()
      granting.set(client, pending)
      process.nextTick(() => granting.delete(client))
    }
    if (pending.has(topic)) return true
    if (Object.keys(held).length + pending.size >= max) return false
    pending.add(topic)
    return true
  }
}
