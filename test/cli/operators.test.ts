import assert from 'node:assert/strict'
import { adminCaFile } from '../../certs/index.js'
import { assertExitedZero, mqgateCli } from '../support/mqgate-cli.js'
import { ADMIN_TOKEN, startTestStack, type TestStack } from '../support/stack.js'

describe('mqgate operator', function () {
  this.timeout(120_000)
  let stack: TestStack
  let admin: { url: string, caFile: string, token: string }

  before(async () => {
    stack = await startTestStack()
    admin = { url: `https://127.0.0.1:${stack.adminPort}`, caFile: adminCaFile(stack.dataDir), token: ADMIN_TOKEN }
  })
  after(async () => await stack?.close())

  it('creates an operator and prints its token once, as {name, role, orgs, token} with --json', async () => {
    const created = await mqgateCli(['operator', 'create', 'alice', '--role', 'viewer', '--org', 'demo', '--json'], admin)
    assertExitedZero(created)
    const credential = JSON.parse(created.stdout)
    assert.deepEqual(Object.keys(credential).sort(), ['name', 'orgs', 'role', 'token'])
    assert.deepEqual({ ...credential, token: undefined }, { name: 'alice', role: 'viewer', orgs: ['demo'], token: undefined })
    assert.match(credential.token, /^mqg_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/)

    // The token works for what a viewer may do, and not for more.
    const asAlice = { ...admin, token: credential.token }
    assertExitedZero(await mqgateCli(['org', 'list'], asAlice))
    const refused = await mqgateCli(['operator', 'list'], asAlice)
    assert.notEqual(refused.status, 0)
    assert.match(refused.stderr, /ADMIN_ERR_FORBIDDEN_ROLE/)

    const listed = await mqgateCli(['operator', 'list'], admin)
    assertExitedZero(listed)
    assert.match(listed.stdout, /alice\s+viewer\s+demo/)
    assert.ok(!listed.stdout.includes(credential.token))
  })

  it('rotates and revokes by name', async () => {
    assertExitedZero(await mqgateCli(['operator', 'create', 'bob', '--role', 'org-admin', '--org', 'demo'], admin))
    const rotated = await mqgateCli(['operator', 'rotate', 'bob'], admin)
    assertExitedZero(rotated)
    assert.match(rotated.stdout, /rotated operator bob .*\nmqg_[0-9a-f]{16}_/)
    assertExitedZero(await mqgateCli(['operator', 'revoke', 'bob'], admin))
    const again = await mqgateCli(['operator', 'revoke', 'bob'], admin)
    assert.match(again.stderr, /ADMIN_ERR_OPERATOR_NOT_FOUND/)
  })

  it('sets its own console password from stdin (never argv), refuses a short one with its code, and clears it', async () => {
    const created = JSON.parse((await mqgateCli(['operator', 'create', 'carol', '--role', 'viewer', '--org', 'demo', '--json'], admin)).stdout)
    const asCarol = { ...admin, token: created.token }
    const set = await mqgateCli(['operator', 'password', '--json'], asCarol, 'a password with spaces  \nignored second line\n')
    assertExitedZero(set)
    assert.deepEqual([JSON.parse(set.stdout).name, JSON.parse(set.stdout).password_set], ['carol', true])
    assert.ok(!set.stdout.includes('a password with spaces'))
    const weak = await mqgateCli(['operator', 'password'], asCarol, 'short\n')
    assert.notEqual(weak.status, 0)
    assert.match(weak.stderr, /ADMIN_ERR_PASSWORD_WEAK/)
    const bootstrap = await mqgateCli(['operator', 'password'], admin, 'long enough for the policy\n')
    assert.match(bootstrap.stderr, /ADMIN_ERR_BOOTSTRAP_NO_PASSWORD/)
    const cleared = await mqgateCli(['operator', 'password', '--clear'], asCarol)
    assertExitedZero(cleared)
    assert.match(cleared.stdout, /cleared the password of operator carol/)
    const help = await mqgateCli(['operator', 'password', '--help'], admin)
    assert.match(help.stdout, /first line of\s+stdin/)
    assert.match(help.stdout, /--clear/)
    assert.match(help.stdout, /--name <name>/)
  })

  it('lets an admin clear another operator\'s password with --clear --name, and refuses --name alone', async () => {
    const created = JSON.parse((await mqgateCli(['operator', 'create', 'dave', '--role', 'viewer', '--org', 'demo', '--json'], admin)).stdout)
    assertExitedZero(await mqgateCli(['operator', 'password'], { ...admin, token: created.token }, 'a long enough passphrase\n'))
    const alone = await mqgateCli(['operator', 'password', '--name', 'dave'], admin, 'a long enough passphrase\n')
    assert.equal(alone.status, 2)
    assert.match(alone.stderr, /--name needs --clear/)
    const viewer = await mqgateCli(['operator', 'password', '--clear', '--name', 'dave'], { ...admin, token: created.token })
    assert.match(viewer.stderr, /ADMIN_ERR_FORBIDDEN_ROLE/)
    const cleared = await mqgateCli(['operator', 'password', '--clear', '--name', 'dave', '--json'], admin)
    assertExitedZero(cleared)
    assert.deepEqual([JSON.parse(cleared.stdout).name, JSON.parse(cleared.stdout).password_set], ['dave', false])
    assert.ok(stack.logs.find(l => l.event === 'audit' && l.action === 'operator.password-clear' && l.operator === 'dave' && /^admin@/.test(l.actor)))
  })

  it('explains the verbs in --help', async () => {
    const help = await mqgateCli(['operator', 'create', '--help'], admin)
    assertExitedZero(help)
    assert.match(help.stdout, /--role <role>/)
    assert.match(help.stdout, /org-admin/)
  })
})
