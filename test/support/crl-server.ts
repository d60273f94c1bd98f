import { readFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'

/** What the server answers on one path: a CRL file's bytes, or an HTTP status with no body. */
export type CrlAnswer = { readonly file: string } | { readonly status: number }

/**
 * A CRL distribution point on 127.0.0.1 (plain HTTP, as CDPs usually are),
 * whose answer per path the test swaps; it counts the requests per path.
 */
export interface CrlServer {
  readonly port: number
  url (path: string): string
  serve (path: string, answer: CrlAnswer): void
  requests (path: string): number
  close (): Promise<void>
}

export async function startCrlServer (): Promise<CrlServer> {
  const answers = new Map<string, CrlAnswer>()
  const counts = new Map<string, number>()
  const server = http.createServer((request, response) => {
    const path = request.url ?? '/'
    counts.set(path, (counts.get(path) ?? 0) + 1)
    const answer = answers.get(path) ?? { status: 404 }
    if ('status' in answer) {
      response.writeHead(answer.status).end()
      return
    }
    response.writeHead(200, { 'content-type': 'application/pkix-crl' }).end(readFileSync(answer.file))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    port,
    url: path => `http://127.0.0.1:${port}${path}`,
    serve: (path, answer) => { answers.set(path, answer) },
    requests: path => counts.get(path) ?? 0,
    async close () {
      server.closeAllConnections()
      await new Promise(resolve => server.close(resolve))
    }
  }
}
