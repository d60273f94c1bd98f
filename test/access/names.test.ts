import assert from 'node:assert/strict'
import { claimClientIdBelongsTo, clientIdBelongsTo, clientIdOf, deviceClientIdOf, orgOfClientId, orgOfServerName, serverNameOf, type Identity } from '../../access/index.js'

/**
 * Issue 12: names.ts is the only code that writes and reads the SNI name and
 * the clientId scheme; every transport's organisation and clientId binding
 * rest on these answers.
 */

const device: Identity = { kind: 'device', typeId: 'sensor', id: 's1', commonName: 'd:sensor:s1' }
const gateway: Identity = { kind: 'gateway', typeId: 'hub', id: 'g1', commonName: 'g:hub:g1' }
const app: Identity = { kind: 'application', appId: 'dash', commonName: 'a:dash' }

describe('access: the name schemes', () => {
  it('serverNameOf writes <org>.messaging.<domain>', () => {
    assert.equal(serverNameOf('acme', 'example.test'), 'acme.messaging.example.test')
  })

  const serverNames: ReadonlyArray<[string | undefined, string, string | undefined]> = [
    ['acme.messaging.example.test', 'example.test', 'acme'],
    ['ACME.Messaging.Example.TEST', 'example.test', 'acme'],
    ['acme.messaging.example.test', 'EXAMPLE.test', 'acme'],
    ['nobody.messaging.example.test', 'example.test', 'nobody'],
    ['acme.messaging.example.org', 'example.test', undefined],
    ['acme.example.test', 'example.test', undefined],
    ['acme.messaging.example.test.evil', 'example.test', undefined],
    ['acmemessaging.example.test', 'example.test', undefined],
    ['messaging.example.test', 'example.test', undefined],
    ['.messaging.example.test', 'example.test', undefined],
    ['', 'example.test', undefined],
    [undefined, 'example.test', undefined]
  ]
  for (const [name, domain, expected] of serverNames) {
    it(`orgOfServerName(${String(name)}, ${domain}) is ${String(expected)}`, () => {
      assert.equal(orgOfServerName(name, domain), expected)
    })
  }

  it('clientIdOf writes each kind\'s clientId, deviceClientIdOf the device\'s', () => {
    assert.equal(clientIdOf(device, 'acme'), 'd:acme:sensor:s1')
    assert.equal(clientIdOf(gateway, 'acme'), 'g:acme:hub:g1')
    assert.equal(clientIdOf(app, 'acme'), 'a:acme:dash')
    assert.equal(deviceClientIdOf('acme', 'sensor', 's1'), clientIdOf(device, 'acme'))
  })

  const bindings: ReadonlyArray<[string, Identity, boolean]> = [
    ['d:acme:sensor:s1', device, true],
    ['d:acme:sensor:s2', device, false],
    ['d:globex:sensor:s1', device, false],
    ['g:acme:sensor:s1', device, false],
    ['d:acme:sensor:s1:2', device, false],
    ['D:acme:sensor:s1', device, false],
    ['g:acme:hub:g1', gateway, true],
    ['g:acme:hub:g1:2', gateway, false],
    ['a:acme:dash', app, true],
    ['a:acme:dash:2', app, true],
    ['a:acme:dash:worker-2.b_c', app, true],
    ['a:acme:dash:', app, false],
    ['a:acme:dash:2:3', app, false],
    ['a:acme:dash:x/y', app, false],
    ['a:acme:dashboard', app, false],
    ['a:globex:dash', app, false]
  ]
  for (const [clientId, identity, expected] of bindings) {
    it(`clientIdBelongsTo(${clientId}, ${identity.commonName}, acme) is ${String(expected)}`, () => {
      assert.equal(clientIdBelongsTo(clientId, identity, 'acme'), expected)
    })
  }

  const orgs: ReadonlyArray<[string | undefined, string | undefined]> = [
    ['d:acme:sensor:s1', 'acme'],
    ['g:acme:hub:g1', 'acme'],
    ['a:acme:dash:2', 'acme'],
    ['a:acme', 'acme'],
    ['c:acme:factory:n1', 'acme'],
    ['x:acme:sensor:s1', undefined],
    ['d::sensor:s1', undefined],
    ['d', undefined],
    ['sensor-s1', undefined],
    ['', undefined],
    [undefined, undefined]
  ]
  for (const [clientId, expected] of orgs) {
    it(`orgOfClientId(${String(clientId)}) is ${String(expected)}`, () => {
      assert.equal(orgOfClientId(clientId), expected)
    })
  }

  // Issue 13: a claim certificate's enrollment session, c:<org>:<claim>:<nonce>.
  const claimBindings: ReadonlyArray<[string, boolean]> = [
    ['c:acme:factory:n1', true],
    ['c:acme:factory:SN-0042_b.7', true],
    ['c:acme:factory:' + 'n'.repeat(64), true],
    ['c:acme:factory:' + 'n'.repeat(65), false],
    ['c:acme:factory:', false],
    ['c:acme:factory', false],
    ['c:acme:factory:n1:extra', false],
    ['c:acme:factory:a/b', false],
    ['c:acme:factory:a+b', false],
    ['c:acme:line2:n1', false],
    ['c:globex:factory:n1', false],
    ['d:acme:factory:n1', false]
  ]
  for (const [clientId, expected] of claimBindings) {
    it(`claimClientIdBelongsTo(${clientId.slice(0, 40)}, factory, acme) is ${String(expected)}`, () => {
      assert.equal(claimClientIdBelongsTo(clientId, 'factory', 'acme'), expected)
    })
  }
})
