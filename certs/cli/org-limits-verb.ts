import type { Command } from 'commander'
import { apiCommand, runApi, type CliContext, type ClientOptions } from './cli-context.js'

const NONE = 'none'

/**
 * `mqgate org limits <org> [--connections N|none] [--publish-rate N|none]`:
 * without an option it shows the limits, with one it changes those named.
 */
export function registerOrgLimitsVerb (org: Command, ctx: CliContext): void {
  apiCommand(org, 'limits <org>', 'show or set the organisation\'s own limits on each broker process (default: none): MQTT sessions at once (the next CONNECT gets CONNACK 3) and PUBLISH packets per second for all its clients together (over it they are read no faster)')
    .option('--connections <n|none>', 'authenticated MQTT sessions at once; none lifts the limit')
    .option('--publish-rate <n|none>', 'PUBLISH packets per second, all the organisation\'s clients together; none lifts the limit')
    .action(async (orgId: string, options: ClientOptions & { connections?: string, publishRate?: string }) => {
      const path = `/orgs/${encodeURIComponent(orgId)}/limits`
      const change = {
        ...(options.connections === undefined ? {} : { connections: limitValue(options.connections) }),
        ...(options.publishRate === undefined ? {} : { publish_rate: limitValue(options.publishRate) })
      }
      await runApi(ctx, options,
        async c => Object.keys(change).length === 0 ? await c.request('GET', path) : await c.request('PATCH', path, change),
        r => `limits of ${r.org as string}: connections ${shown(r.connections)}, publish rate ${shown(r.publish_rate)}${r.publish_rate === null ? '' : '/s'} (per broker process)`)
    })
}

/**
 * `none` lifts the limit; a number goes as a number; anything else goes as
 * typed, for the API to refuse with CERTS_ERR_LIMIT_INVALID (a text that
 * Number() makes NaN would reach JSON as null and lift the limit instead).
 */
function limitValue (text: string): number | string | null {
  if (text.trim().toLowerCase() === NONE) return null
  return /^\s*[-+]?\d+(\.\d*)?([eE][-+]?\d+)?\s*$/.test(text) ? Number(text) : text
}

function shown (value: unknown): string {
  return value === null || value === undefined ? NONE : String(value)
}
