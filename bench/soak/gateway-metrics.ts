import https from 'node:https'

/** The few figures of mqgate's /metrics that say where a reading waits. */
export interface GatewayFigures {
  /** prom-client's event-loop lag p99 of the worker that answered, ms. */
  readonly loopLagP99Ms: number
  /** A Redis PING's round trip from that worker, ms. */
  readonly redisRoundTripMs: number
  /** Readings waiting for the store and the forward stage (pending + not yet handed out), across bridges. */
  readonly storeBacklog: number
  readonly forwardBacklog: number
}

/**
 * Scrapes `/metrics` on the admin port (behind the admin token), as
 * Prometheus would. With several workers one of them answers: the figures
 * are that worker's, the backlogs are the same for all (they are Redis's).
 */
export async function scrapeGateway (adminPort: number, caPem: string, token: string): Promise<GatewayFigures | undefined> {
  const text = await new Promise<string | undefined>(resolve => {
    const request = https.get({ host: '127.0.0.1', port: adminPort, path: '/metrics', ca: caPem, headers: { authorization: `Bearer ${token}` }, timeout: 20_000 }, response => {
      let body = ''
      response.setEncoding('utf8').on('data', chunk => { body += chunk }).on('end', () => resolve(response.statusCode === 200 ? body : undefined))
    })
    request.on('timeout', () => request.destroy())
    request.on('error', () => resolve(undefined))
  })
  if (text === undefined) return undefined
  const value = (name: string, labels = ''): number => {
    const line = text.split('\n').find(l => l.startsWith(`${name}${labels === '' ? ' ' : `{${labels}}`}`))
    return line === undefined ? NaN : Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  const backlog = (stage: string): number => value('mqgate_bridge_lag', `stage="${stage}",state="pending"`) + value('mqgate_bridge_lag', `stage="${stage}",state="lag"`)
  return {
    loopLagP99Ms: value('nodejs_eventloop_lag_p99_seconds') * 1000,
    redisRoundTripMs: value('mqgate_redis_round_trip_seconds') * 1000,
    storeBacklog: backlog('store'),
    forwardBacklog: backlog('forward')
  }
}

export function describeGateway (figures: GatewayFigures | undefined): string {
  if (figures === undefined) return 'mqgate /metrics did not answer'
  const ms = (v: number): string => Number.isNaN(v) ? '?' : `${Math.round(v)} ms`
  return `mqgate loop lag p99 ${ms(figures.loopLagP99Ms)}, Redis PING ${ms(figures.redisRoundTripMs)}, backlog store ${figures.storeBacklog} / forward ${figures.forwardBacklog}`
}
