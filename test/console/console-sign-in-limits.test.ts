import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { consoleRequest, consoleSignInAttempt, sessionCookieOf, type ConsoleAnswer } from '../support/console-http.js'
import { startTestGateway, type TestGateway } from '../support/gateway.js'
import { httpsRequest } from '../support/stack.js'

/**
 * The console's sign-in limits and session ends over plain HTTPS (what a
 * script does; a browser adds nothing): one operator's sign-ins end its own
 * oldest session, never another's; an address signs in at most 30 times a
 * minute, runs at most 4 attempts at once, and cannot reset its failures'
 * delay with a success in between; the Live sessions table's polling does not
 * keep a session from idling out. Each test signs in from its own loopback
 * address, as the limits count per address.
 */
const IDLE_MS = 2000

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
