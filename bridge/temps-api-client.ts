import https from 'node:https'
import { isIP } from 'node:net'
import tls from 'node:tls'
import { deviceClientIdOf, serverNameOf } from '../access/index.js'
import { managedCaOf, type OrgRegistry } from '../certs/index.js'
import type { BridgeCredentials } from './bridge-credentials.js'
import type { Reading } from './reading.js'

export interface TempsApiConfig {
  /** Where readings go; `{org}`, `{type}` and `{id}` are filled in (URL-encoded). */
  readonly urlTemplate: string
  /** SNI to send; `{org}` is filled in. Default: the URL's host, or `{org}.messaging.<domain>` when it is an IP address. */
  readonly servernameTemplate?: string
  readonly domain: string
  /** A CA to trust besides the system's and the organisation's managed CA. */
  readonly caPem?: string
  readonly timeoutMs: number
}

export interface TempsApiAnswer {
  readonly status: number
  readonly body: string
}

/**
 * POSTs a reading to the temps API as the device would have (the seed's body),
 * with the bridge's client certificate, the device in `X-Device-Id` and a
 * `device` field. Resolves with any HTTP answer; rejects on network failure or
 * timeout. Retrying is the forward stage's business.
 */
export class TempsApiClient {
  private readonly agents = new Map<string, { agent: https.Agent, certPem: string }>()

  constructor (private readonly cfg: TempsApiConfig, private readonly credentials: BridgeCredentials, private readonly registry?: OrgRegistry) {}

  async post (reading: Reading): Promise<TempsApiAnswer> {
    const url = new URL(fill(this.cfg.urlTemplate, reading))
    const device = deviceClientIdOf(reading.orgId, reading.typeId, reading.deviceId)
    const body = JSON.stringify({ temperature: reading.temperature, time: reading.time, device })
    const servername = this.servernameFor(url, reading.orgId)
    const agent = await this.agentFor(reading.orgId)
    return await new Promise((resolve, reject) => {
      const req = https.request(url, {
        method: 'POST',
        agent,
        servername,
        // The Host names the organisation too: a resumed TLS 1.2 session carries no SNI name.
        headers: { host: servername ?? url.host, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-device-id': device },
        signal: AbortSignal.timeout(this.cfg.timeoutMs)
      }, res => {
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (chunk: Buffer) => { if ((size += chunk.length) <= 4096) chunks.push(chunk) })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').slice(0, 1024) }))
        res.on('error', reject)
      })
      req.on('error', reject)
      req.end(body)
    })
  }

  close (): void {
    for (const { agent } of this.agents.values()) agent.destroy()
    this.agents.clear()
  }

  private servernameFor (url: URL, orgId: string): string | undefined {
    if (this.cfg.servernameTemplate !== undefined) return this.cfg.servernameTemplate.replaceAll('{org}', orgId)
    const host = url.hostname.replace(/^\[|\]$/g, '')
    return isIP(host) === 0 ? host : serverNameOf(orgId, this.cfg.domain)
  }

  /** One keep-alive agent per organisation, rebuilt when the bridge's certificate for it is renewed. */
  private async agentFor (orgId: string): Promise<https.Agent> {
    const credentials = await this.credentials.for(orgId)
    const current = this.agents.get(orgId)
    if (current !== undefined && current.certPem === credentials.certPem) return current.agent
    current?.agent.destroy()
    const managed = this.registry?.get(orgId)
    const ca = [...tls.rootCertificates, ...(managed === undefined ? [] : [managedCaOf(managed).certPem]), ...(this.cfg.caPem === undefined ? [] : [this.cfg.caPem])]
    // One secure context for every connection: given as ca/cert/key instead, the
    // agent would join the ~140 root PEMs into its pool key on every request
    // and parse them again for every new connection.
    const secureContext = tls.createSecureContext({ cert: credentials.certPem, key: credentials.keyPem, ca })
    const agent = new https.Agent({ keepAlive: true, maxSockets: 16, secureContext })
    this.agents.set(orgId, { agent, certPem: credentials.certPem })
    return agent
  }
}

function fill (template: string, reading: Reading): string {
  return template
    .replaceAll('{org}', encodeURIComponent(reading.orgId))
    .replaceAll('{type}', encodeURIComponent(reading.typeId))
    .replaceAll('{id}', encodeURIComponent(reading.deviceId))
}
