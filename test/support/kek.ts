import { kekFromBase64, keyRing, type KeyRing } from '../../certs/index.js'

/** A fixed key-encryption key for tests that do not test the KEK itself (32 bytes, base64). */
export const TEST_KEK = 'dGVzdC1vbmx5LWtlay1mb3ItbXFnYXRlLXRlc3RzISE='

export function testKeyRing (): KeyRing {
  return keyRing(kekFromBase64(TEST_KEK))
}
