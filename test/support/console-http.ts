import https from 'node:https'

/** One answer of the console over a raw HTTPS request: status, Set-Cookie as sent, body. */
export interface ConsoleAnswer {
  readonly status: number
  readonly cookies: string[]
  readonly text: string
}

/**
 * A request to the console without a browser, on a new connection each time (so a cluster may hand it to any worker);
 * `from` another loopback address (127.0.0.2, ...) than 127.0.0.1, as the sign-in limits count per source address.
 */
export async function consoleRequest (port: number, caPem: string, method: string, path: string, headers: Record<string, string> = {}, body?: string, from?: string): Promise<ConsoleAnswer> {
  return await new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, method, path, headers, ca: caPem, servername: 'localhost', agent: false, localAddress: from }, res => {
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
  const answer = await consoleSignInAttempt(port, caPem, { token }, { earlier })
  if (answer.status !== 303) throw new Error(`console sign-in: ${answer.status} ${answer.text.slice(0, 200)}`)
  return answer.cookies
}

/** The sign-in form's double-submit pair, as a browser gets it: the cookie (`name=value`) and the hidden field's value. */
export async function consoleSignInForm (port: number, caPem: string, from?: string): Promise<{ cookie: string, token: string }> {
  const form = await consoleRequest(port, caPem, 'GET', '/console/sign-in', {}, undefined, from)
  return { cookie: (form.cookies[0] ?? '').split(';')[0], token: /name="_csrf" value="([^"]+)"/.exec(form.text)?.[1] ?? '' }
}

/** Posts the sign-in form with `fields` (`token`, or `name` and `password`), answered as it comes: 303 signed in, 401, 429... */
export async function consoleSignInAttempt (port: number, caPem: string, fields: Record<string, string>, options: { earlier?: string, from?: string, form?: { cookie: string, token: string } } = {}): Promise<ConsoleAnswer> {
  const form = options.form ?? await consoleSignInForm(port, caPem, options.from)
  const body = new URLSearchParams({ _csrf: form.token, ...fields }).toString()
  const cookie = [form.cookie, options.earlier].filter(c => c !== undefined).join('; ')
  return await consoleRequest(port, caPem, 'POST', '/console/sign-in', { cookie, 'content-type': 'application/x-www-form-urlencoded' }, body, options.from)
}

/** The `name=value` of the session cookie among Set-Cookie lines. */
export function sessionCookieOf (cookies: readonly string[]): string {
  return (cookies.find(c => c.startsWith('mqgate_console=')) ?? '').split(';')[0]
}
