import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { PASSWORD_MAX_UNITS } from '../../certs/admin-api/operators/password.js'
import { consoleRequest, consoleSignInAttempt, consoleSignInForm, sessionCookieOf, type ConsoleAnswer } from '../support/console-http.js'
import { startTestGateway, type TestGateway } from '../support/gateway.js'
import { normalisedLengths } from '../support/normalise-spy.js'
import { httpsRequest } from '../support/stack.js'

/**
 * The console's sign-in limits and session ends over plain HTTPS (what a
 * script does; a browser adds nothing): one operator's sign-ins end its own
 * oldest session, never another's; an address signs in at most 30 times a
 * minute, runs at most 4 attempts at once, and cannot reset its failures'
 * delay with a success in between; one name's failures slow down every
 * address; the process runs at most 2 password checks with 8 waiting; a body
 * or password field too large is refused before it costs anything; the Live sessions table's polling does not
 * keep a session from idling out. Each test signs in from its own loopback
 * address, as the limits count per address.
 */
const IDLE_MS = 2000
const WRONG_TOKEN = `mqg_0123456789abcdef_${'x'.repeat(43)}`

describe('web console: sign-in limits and session ends (HTTP)', function () {
  this.timeout(120_000)
  let gateway: TestGateway
  let viewerToken: string
  const viewerPassword = 'correct horse battery staple'

  const adminCall = async (method: string, path: string, body: unknown, token = gateway.admin.token): Promise<any> => {
    const answer = await httpsRequest(gateway.admin.port, { method, path, caPem: gateway.admin.caPem, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    if (answer.status >= 300) throw new Error(`${method} ${path}: ${answer.status} ${answer.text}`)
    return answer.body
  }
  const signIn = async (fields: Record<string, string>, from: string): Promise<ConsoleAnswer> =>
    await consoleSignInAttempt(gateway.admin.port, gateway.admin.caPem, fields, { from })
  const get = async (path: string, cookie: string, headers: Record<string, string> = {}): Promise<ConsoleAnswer> =>
    await consoleRequest(gateway.admin.port, gateway.admin.caPem, 'GET', path, { cookie, ...headers })
  const codeOf = (answer: ConsoleAnswer): string | undefined => /ADMIN_ERR_[A-Z_]+/.exec(answer.text)?.[0]
  const linesFrom = (from: string, event: string): any[] => gateway.logs.lines.filter(l => l.event === event && l.remoteAddress === from)

  before(async () => {
    gateway = await startTestGateway({ orgs: ['acme'], consoleIdleMs: IDLE_MS })
    viewerToken = (await adminCall('POST', '/operators', { name: 'vic', role: 'viewer', orgs: ['acme'] })).token
    await adminCall('PUT', '/operators/self/password', { password: viewerPassword }, viewerToken)
  })
  after(async () => await gateway?.close())

  it('ends a viewer\'s own oldest session at its 21st sign-in, and keeps an admin\'s', async () => {
    const from = '127.0.0.2'
    const admin = sessionCookieOf((await signIn({ token: gateway.admin.token }, from)).cookies)
    const viewer: string[] = []
    for (let i = 0; i < 21; i++) {
      const answer = await signIn({ token: viewerToken }, from)
      assert.equal(answer.status, 303, `viewer sign-in ${i}`)
      viewer.push(sessionCookieOf(answer.cookies))
    }
    assert.equal((await get('/console/orgs', admin)).status, 200, 'the admin was signed out')
    assert.equal((await get('/console/orgs', viewer[0])).status, 303, 'the viewer\'s oldest session lives on')
    assert.equal((await get('/console/orgs', viewer[1])).status, 200)
    assert.equal((await get('/console/orgs', viewer[20])).status, 200)
  })

  it('refuses an address\'s 31st sign-in within a minute with 429 ADMIN_ERR_SIGN_IN_RATE, logged, and not another address\'s', async () => {
    const from = '127.0.0.3'
    for (let i = 0; i < 30; i++) assert.equal((await signIn({ token: viewerToken }, from)).status, 303, `sign-in ${i}`)
    const refused = await signIn({ token: viewerToken }, from)
    assert.equal(refused.status, 429)
    assert.equal(codeOf(refused), 'ADMIN_ERR_SIGN_IN_RATE')
    assert.equal(sessionCookieOf(refused.cookies), '')
    // Not tried at all: a password is refused alike, before its scrypt.
    assert.equal(codeOf(await signIn({ name: 'vic', password: viewerPassword }, from)), 'ADMIN_ERR_SIGN_IN_RATE')
    assert.deepEqual(linesFrom(from, 'console.sign-in-refused').map(l => [l.code, l.method]), [['ADMIN_ERR_SIGN_IN_RATE', 'token'], ['ADMIN_ERR_SIGN_IN_RATE', 'password']])
    assert.equal((await signIn({ token: viewerToken }, '127.0.0.4')).status, 303)
  })

  it('keeps doubling the delay of failures when a valid sign-in comes between them (token and password alike)', async () => {
    const from = '127.0.0.5'
    const wrong: Array<Record<string, string>> = [{ token: WRONG_TOKEN }, { name: 'vic', password: viewerPassword + '!' }, { token: WRONG_TOKEN }, { name: 'nobody', password: viewerPassword }]
    const valid: Array<Record<string, string>> = [{ token: viewerToken }, { name: 'vic', password: viewerPassword }]
    const waited: number[] = []
    for (const [i, fields] of wrong.entries()) {
      const started = Date.now()
      const answer = await signIn(fields, from)
      waited.push(Date.now() - started)
      assert.equal(answer.status, 401, `failure ${i}`)
      assert.equal((await signIn(valid[i % 2], from)).status, 303, `success after failure ${i}`)
    }
    const failed = linesFrom(from, 'console.sign-in-failed')
    assert.deepEqual(failed.map(l => [l.method, l.failures, l.delayMs]), [['token', 1, 250], ['password', 2, 500], ['token', 3, 1000], ['password', 4, 2000]])
    assert.ok(waited[2] >= 1000 && waited[3] >= 2000, `failures answered after ${waited.join(', ')} ms`)
  })

  it('runs at most 4 sign-in attempts of an address at once: more are refused at once with 429 ADMIN_ERR_SIGN_IN_BUSY, logged', async () => {
    const from = '127.0.0.6'
    // One failure first, so the first admitted attempt is held 500 ms: time for all eight to arrive.
    assert.equal((await signIn({ token: WRONG_TOKEN }, from)).status, 401)
    const form = await consoleSignInForm(gateway.admin.port, gateway.admin.caPem, from)
    const started = Date.now()
    const attempts = Array.from({ length: 8 }, async (_, i) => {
      const fields: Record<string, string> = i % 2 === 0 ? { token: WRONG_TOKEN } : { name: 'vic', password: 'not the password at all' }
      const answer = await consoleSignInAttempt(gateway.admin.port, gateway.admin.caPem, fields, { from, form })
      return { status: answer.status, code: codeOf(answer), after: Date.now() - started }
    })
    const answers = await Promise.all(attempts)
    const busy = answers.filter(a => a.status === 429)
    assert.equal(busy.length, 4, JSON.stringify(answers))
    const tried = answers.filter(a => a.status !== 429)
    assert.deepEqual(tried.map(a => a.status), [401, 401, 401, 401])
    // Refused at once: before even the first of the admitted ones is answered.
    assert.ok(busy.every(a => a.code === 'ADMIN_ERR_SIGN_IN_BUSY' && a.after < Math.min(...tried.map(t => t.after))), JSON.stringify(answers))
    assert.equal(linesFrom(from, 'console.sign-in-refused').filter(l => l.code === 'ADMIN_ERR_SIGN_IN_BUSY').length, 4)
    // Answered, they free their places.
    assert.equal((await signIn({ token: viewerToken }, from)).status, 303)
  })

  it('refuses a sign-in body over 16 KiB and an account password form over 32 KiB unread (413 ADMIN_ERR_TOO_LARGE), and never normalises a password field over 4096 units', async () => {
    const from = '127.0.0.8'
    const marks = (count: number): string => 'a' + '\u0301\u0316'.repeat(count / 2)
    const postJson = async (fields: Record<string, string>): Promise<ConsoleAnswer> => {
      const form = await consoleSignInForm(gateway.admin.port, gateway.admin.caPem, from)
      return await consoleRequest(gateway.admin.port, gateway.admin.caPem, 'POST', '/console/sign-in', { cookie: form.cookie, 'content-type': 'application/json' }, JSON.stringify({ _csrf: form.token, ...fields }), from)
    }
    // 300 KB of combining marks (NFC reorders them in quadratic time: seconds of a blocked event loop), and a page asked for meanwhile.
    const [large, meanwhile] = await Promise.all([postJson({ name: 'vic', password: marks(150_000) }), consoleSignInForm(gateway.admin.port, gateway.admin.caPem, '127.0.0.9')])
    assert.equal(large.status, 413, large.text.slice(0, 300))
    assert.equal(codeOf(large), 'ADMIN_ERR_TOO_LARGE')
    assert.notEqual(meanwhile.token, '')
    // Under the body limit (12 KB as JSON) but over the field bound: refused as any wrong password, never normalised.
    let answer: ConsoleAnswer | undefined
    const lengths = await normalisedLengths(async () => { answer = await postJson({ name: 'vic', password: marks(6000) }) })
    assert.equal(answer?.status, 401)
    assert.equal(codeOf(answer as ConsoleAnswer), 'ADMIN_ERR_UNAUTHORIZED')
    assert.ok(lengths.every(length => length <= PASSWORD_MAX_UNITS), `normalised ${Math.max(...lengths)} units`)
    // The account page's password form: twice the policy's longest password fits in its 32 KiB, 48 KB are not read.
    const session = sessionCookieOf((await signIn({ token: viewerToken }, '127.0.0.9')).cookies)
    const body = new URLSearchParams({ password: marks(4000), confirm: marks(4000) }).toString()
    const account = await consoleRequest(gateway.admin.port, gateway.admin.caPem, 'POST', '/console/account/password', { cookie: session, 'content-type': 'application/x-www-form-urlencoded' }, body, '127.0.0.9')
    assert.equal(account.status, 413)
    assert.equal(codeOf(account), 'ADMIN_ERR_TOO_LARGE')
  })

  it('grows the delay of one name\'s password failures from different addresses, logged with both counts', async () => {
    const froms = ['127.0.2.1', '127.0.2.2', '127.0.2.3']
    for (const from of froms) assert.equal((await signIn({ name: 'vic-target', password: 'not the password at all' }, from)).status, 401)
    assert.deepEqual(froms.map(from => linesFrom(from, 'console.sign-in-failed').map(l => [l.failures, l.nameFailures, l.delayMs])), [[[1, 1, 250]], [[1, 2, 500]], [[1, 3, 1000]]])
    assert.ok(!gateway.logs.text().includes('vic-target'), 'a name typed reached the log')
  })

  it('refuses password sign-ins beyond the process\'s 2 running and 8 waiting scrypts with 503 ADMIN_ERR_PASSWORD_BUSY, logged, not counted as failures', async () => {
    const froms = Array.from({ length: 32 }, (_, i) => `127.0.3.${i + 1}`)
    const forms = await Promise.all(froms.map(async from => await consoleSignInForm(gateway.admin.port, gateway.admin.caPem, from)))
    const answers = await Promise.all(froms.map(async (from, i) => await consoleSignInAttempt(gateway.admin.port, gateway.admin.caPem, { name: `guess${i}`, password: 'not the password at all' }, { from, form: forms[i] })))
    const busy = answers.filter(a => a.status === 503)
    assert.ok(busy.length > 0 && busy.length <= 32 - 10, answers.map(a => a.status).join(' '))
    assert.ok(busy.every(a => codeOf(a) === 'ADMIN_ERR_PASSWORD_BUSY'))
    assert.ok(answers.every(a => a.status === 503 || a.status === 401), answers.map(a => a.status).join(' '))
    const lines = (event: string): any[] => gateway.logs.lines.filter(l => l.event === event && froms.includes(l.remoteAddress))
    assert.equal(lines('console.sign-in-refused').filter(l => l.code === 'ADMIN_ERR_PASSWORD_BUSY' && l.method === 'password').length, busy.length)
    assert.equal(lines('console.sign-in-failed').length, 32 - busy.length)
    // Their places are free again.
    assert.equal((await signIn({ name: 'vic', password: viewerPassword }, '127.0.3.200')).status, 303)
  })

  it('lets a session idle out while its Live sessions table polls, and keeps one whose pages are visited', async () => {
    const from = '127.0.0.7'
    const polled = sessionCookieOf((await signIn({ token: viewerToken }, from)).cookies)
    const visited = sessionCookieOf((await signIn({ token: viewerToken }, from)).cookies)
    const started = Date.now()
    let endedAfter: number | undefined
    while (endedAfter === undefined && Date.now() - started < IDLE_MS * 2) {
      const poll = await get('/console/orgs/acme/sessions/table', polled, { 'hx-request': 'true' })
      if (poll.status === 204) endedAfter = Date.now() - started
      else {
        assert.equal(poll.status, 200)
        assert.equal(sessionCookieOf(poll.cookies), '', 'a poll renewed the session cookie')
      }
      assert.equal((await get('/console/orgs/acme/sessions', visited)).status, 200, `the visited session ended after ${Date.now() - started} ms`)
      await sleep(IDLE_MS / 5)
    }
    assert.ok(endedAfter !== undefined && endedAfter >= IDLE_MS - 100, `the polled session ended after ${endedAfter} ms (idle limit ${IDLE_MS} ms)`)
    assert.equal((await get('/console/orgs', polled)).status, 303)
  })
})
