import assert from 'node:assert/strict'
import { addressKey } from '../../certs/admin-api/console/address-key.js'
import { MAX_IN_FLIGHT, SignInThrottle } from '../../certs/admin-api/console/sign-in-throttle.js'

/** What the console's sign-in limits count under (certs/admin-api/console/sign-in-throttle.ts, address-key.ts). */
describe('console sign-in throttle', () => {
  const keys: Array<[string, string]> = [
    ['127.0.0.1', '127.0.0.1'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:ffff::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['::ffff:192.0.2.7', '192.0.2.7'],
    ['64:ff9b::192.0.2.7', '64:ff9b:0:0::/64']
  ]
  for (const [address, key] of keys) it(`counts ${address} as ${key}`, () => assert.equal(addressKey(address), key))

  it('counts the failures and the attempts in flight of one IPv6 /64 together, and not another /64\'s', () => {
    const throttle = new SignInThrottle()
    assert.equal(throttle.failed('2001:db8:1:2::a').failures, 1)
    assert.equal(throttle.failed('2001:db8:1:2:dead:beef:0:1').failures, 2)
    assert.equal(throttle.failed('2001:db8:1:3::a').failures, 1)
    for (let i = 0; i < MAX_IN_FLIGHT; i++) assert.equal(throttle.begin(`2001:db8:1:2::${i + 1}`), undefined)
    assert.equal(throttle.begin('2001:db8:1:2::ffff'), 'ADMIN_ERR_SIGN_IN_BUSY')
    assert.equal(throttle.begin('2001:db8:1:3::1'), undefined)
  })

  it('counts a name\'s password failures whatever the address, and waits as the larger count asks', () => {
    const throttle = new SignInThrottle()
    assert.deepEqual(throttle.failed('127.0.1.1', 'bob'), { failures: 1, nameFailures: 1, delayMs: 250 })
    assert.deepEqual(throttle.failed('127.0.1.2', 'bob'), { failures: 1, nameFailures: 2, delayMs: 500 })
    assert.deepEqual(throttle.failed('127.0.1.3', 'bob'), { failures: 1, nameFailures: 3, delayMs: 1000 })
    assert.deepEqual(throttle.failed('127.0.1.3', 'carol'), { failures: 2, nameFailures: 1, delayMs: 500 })
    // A token's failure has no name; what cannot be a name (a mistyped password, say) is not kept.
    assert.deepEqual(throttle.failed('127.0.1.4'), { failures: 1, nameFailures: undefined, delayMs: 250 })
    assert.deepEqual(throttle.failed('127.0.1.4', 'not a name!'), { failures: 2, nameFailures: undefined, delayMs: 500 })
  })
})
