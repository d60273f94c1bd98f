import { createHash, createSecretKey, type KeyObject } from 'node:crypto'
import { CertsError } from '../errors.js'

/** AES-256: a key-encryption key is exactly 32 bytes. */
export const KEK_BYTES = 32

/**
 * A key-encryption key and its id. The id (the first 8 bytes of SHA-256 of the
 * key, hex) is stored beside every blob the key seals, so that a process holding
 * several keys (current + previous, while rotating) knows which one opens it,
 * and a process holding the wrong key says so instead of failing to decrypt.
 */
export interface Kek {
  readonly kid: string
  /** A secret KeyObject: it prints as `SecretKeyObject`, never as bytes, if a config is ever logged. */
  readonly key: KeyObject
}

/** The keys a process holds: new blobs are sealed under `current`; `previous` only open older ones. */
export interface KeyRing {
  readonly current: Kek
  readonly previous: readonly Kek[]
}

export function kekFromBytes (bytes: Buffer): Kek {
  if (bytes.length !== KEK_BYTES) throw new CertsError('CERTS_ERR_KEK_INVALID', `a key-encryption key is exactly ${KEK_BYTES} bytes, got ${bytes.length}`)
  return Object.freeze({ kid: createHash('sha256').update(bytes).digest().subarray(0, 8).toString('hex'), key: createSecretKey(bytes) })
}

/** A KEK as operators write it (`openssl rand -base64 32`): base64 (or base64url) of 32 bytes, surrounding whitespace ignored. */
export function kekFromBase64 (text: string): Kek {
  const trimmed = text.trim()
  if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) {
    throw new CertsError('CERTS_ERR_KEK_INVALID', `a key-encryption key is base64 of exactly ${KEK_BYTES} bytes (44 characters, e.g. from \`openssl rand -base64 32\`), got ${trimmed.length} characters`)
  }
  return kekFromBytes(Buffer.from(trimmed, 'base64'))
}

export function keyRing (current: Kek, previous: readonly Kek[] = []): KeyRing {
  return Object.freeze({ current, previous: Object.freeze(previous.filter(k => k.kid !== current.kid)) })
}

/** The key of that id, current first; undefined when the ring does not hold it. */
export function kekById (ring: KeyRing, kid: string): Kek | undefined {
  return [ring.current, ...ring.previous].find(k => k.kid === kid)
}
