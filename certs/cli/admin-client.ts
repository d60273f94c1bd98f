import https from 'node:https'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import type { AdminClientErrorCode } from '../admin-api/errors.js'

/** Where the CLI finds the admin API and how it proves itself. */
export interface ClientSettings {
  readonly apiUrl: string
  readonly token?: string
  readonly caPem?: string
  readonly operator?: string
}

/** The environment the CLI reads (handed over by the entry, which alone reads process.env). */
export interface ClientEnv {
  readonly MQGATE_ADMIN_URL?: string
  readonly MQGATE_ADMIN_TOKEN?: string
  readonly MQGATE_ADMIN_CA?: string
  readonly MQGATE_DATA_DIR?: string
  /** Where `registry backup|restore` find the store. */
  readonly REDIS_URL?: string
  readonly MQGATE_ADMIN_PORT?: string
  readonly USER?: string
}

/**
 * `--api`, else MQGATE_ADMIN_URL, else the local gateway of MQGATE_DATA_DIR and
 * MQGATE_ADMIN_PORT; the token from MQGATE_ADMIN_TOKEN, else the data dir; the
 * CA from `--ca`, else MQGATE_ADMIN_CA, else the data dir.
 */
export function resolveClientSettings (options: { api?: string, ca?: string }, env: ClientEnv): ClientSettings {
  const dataDir = path.resolve(env.MQGATE_DATA_DIR ?? './data')
  const apiUrl = options.api ?? env.MQGATE_ADMIN_URL ?? `https://127.0.0.1:${env.MQGATE_ADMIN_PORT ?? '9443'}`
  const token = env.MQGATE_ADMIN_TOKEN ?? readOptional(path.join(dataDir, 'admin-token'))?.trim()
  const explicitCa = options.ca ?? env.MQGATE_ADMIN_CA
  const caPem = readOptional(explicitCa ?? path.join(dataDir, 'admin', 'ca.pem'))
  if (explicitCa !== undefined && caPem === undefined) {
    throw clientError(0, 'ADMIN_ERR_CA_UNREADABLE', `cannot read the admin API's CA file ${explicitCa}`)
  }
  return { apiUrl, token, caPem, operator: env.USER }
}

function readOptional (file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
}

/** A refusal by the API (its code and message), or the API out of reach. */
export class AdminApiError extends Error {
  override readonly name = 'AdminApiError'
  constructor (readonly status: number, readonly code: string, message: string) {
    super(message)
  }
}

/** The CLI's own refusals, when no answer of the API's came back: typed, so each is one of the documented codes. */
function clientError (status: number, code: AdminClientErrorCode, message: string): AdminApiError {
  return new AdminApiError(status, code, message)
}

export class AdminClient {
  constructor (private readonly settings: ClientSettings) {}

  async request (method: string, route: string, body?: unknown): Promise<any> {
    const url = new URL(route, this.settings.apiUrl)
    const payload = body === undefined ? undefined : JSON.stringify(body)
    return await new Promise((resolve, reject) => {
      const req = https.request(url, {
        method,
        ca: this.settings.caPem,
        headers: {
          accept: 'application/json',
          ...(this.settings.token === undefined ? {} : { authorization: `Bearer ${this.settings.token}` }),
          ...(this.settings.operator === undefined ? {} : { 'x-mqgate-operator': this.settings.operator }),
          ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) })
        },
        timeout: 30_000
      }, res => {
        const chunks: Buffer[] = []
        res.on('data', chunk => chunks.push(chunk))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let json: any
          try { json = text === '' ? {} : JSON.parse(text) } catch { json = undefined }
          const status = res.statusCode ?? 0
          if (status >= 200 && status < 300 && json !== undefined) return resolve(json)
          // A body without mqgate's error code (a proxy's page, say) keeps its status under ADMIN_ERR_HTTP.
          const fallback: AdminClientErrorCode = 'ADMIN_ERR_HTTP'
          reject(new AdminApiError(status, json?.error?.code ?? fallback, json?.error?.message ?? `HTTP ${status}`))
        })
      })
      req.on('timeout', () => req.destroy(new Error('timed out')))
      req.on('error', err => reject(clientError(0, 'ADMIN_ERR_UNREACHABLE', `cannot reach the admin API at ${this.settings.apiUrl}: ${err.message}`)))
      req.end(payload)
    })
  }
}
