import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { Principal } from '../operators/operator.js'

/**
 * The console acts only through the admin API's own routes: each call is a
 * fastify `inject` into the same app, carrying the signed-in operator as its
 * principal, so the route's declared access (access.ts, refusalOf), its
 * schema, its audit line and its error codes are the API's, never a second
 * copy. The principal travels by a one-use random reference in a header that
 * lives only for the call (in this process's memory); a header from the
 * network names no pending call and is ignored.
 */
export const CONSOLE_CALL_HEADER = 'x-mqgate-console-call'

export interface ApiAnswer {
  readonly status: number
  readonly body: any
}

export interface ApiCall {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  readonly url: string
  readonly body?: unknown
}

export class ConsoleCalls {
  private readonly pending = new Map<string, Principal>()

  /** The principal of a console call in flight, for the admin API's authentication hook. */
  principalOf (header: string | string[] | undefined): Principal | undefined {
    return typeof header === 'string' ? this.pending.get(header) : undefined
  }

  /** One API route, as `who` from `remoteAddress` (the audit line's address is the browser's). */
  async call (app: FastifyInstance, who: Principal, remoteAddress: string, request: ApiCall): Promise<ApiAnswer> {
    const ref = randomBytes(32).toString('base64url')
    this.pending.set(ref, who)
    try {
      const answer = await app.inject({
        method: request.method,
        url: request.url,
        remoteAddress,
        headers: { [CONSOLE_CALL_HEADER]: ref, 'x-mqgate-operator': 'console' },
        ...(request.body === undefined ? {} : { payload: request.body as object })
      })
      return { status: answer.statusCode, body: parseJson(answer.body) }
    } finally {
      this.pending.delete(ref)
    }
  }
}

function parseJson (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
