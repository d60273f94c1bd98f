import https from 'node:https'

/** One answer of the console over a raw HTTPS request: status, Set-Cookie as sent, body. */
export interface ConsoleAnswer {
  readonly status: number
  readonly cookies: string[]
  readonly text: string
}

/** A request to the console without a browser, on a new connection each time (so a cluster may hand it to any worker). */
export async function consoleRequest (port: number, caPem: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<ConsoleAnswer> {
  return await new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, method, path, headers, ca: caPem, servername: 'localhost', agent: false }, res => {
      let text = ''
      res.on('data', chunk => { text += String(chunk) })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, cookies: res.headers['set-cookie'] ?? [], text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** Signs in through the form (its double-submit token included), with `earlier` cookies if given; answers the sign-in's Set-Cookie lines. */
export async function consoleSignIn (port: number, caPem: string, token: string, earlier?: string): Promise<string[]> {
  const form = await consoleRequest(port, caPem, 'GET', '/console/sign-in')
  const formCookie = (form.cookies[0] ?? '').split(';')[0]
  const formToken = /name="_csrf" value="([^"]+)"/.exec(form.text)?.[1] ?? ''
  const body = `_csrf=${encodeURIComponent(formToken)}&token=${encodeURIComponent(token)}`
  const answer = await consoleRequest(port, caPem, 'POST', '/console/sign-in', { cookie: [formCookie, earlier].filter(c => c !== undefined).join('; '), 'content-type': 'application/x-www-form-urlencoded' }, body)
  if (answer.status !== 303) throw new Error(`console sign-in: ${answer.status} ${answer.text.slice(0, 200)}`)
  return answer.cookies
}

/** The `name=value` of the session cookie among Set-Cookie lines. */
export function sessionCookieOf (cookies: readonly string[]): string {
  return (cookies.find(c => c.startsWith('mqgate_console=')) ?? '').split(';')[0]
}
