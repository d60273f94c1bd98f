import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'
import { PASSWORD_GATE } from './password-gate.js'

/**
 * An operator's console password: unlike a token (256 random bits, a fast
 * hash), a password is chosen by a person and may be guessed, so it is kept
 * as a slow, salted scrypt hash (RFC 7914) in a self-describing string,
 * `scrypt$<N>$<r>$<p>$<salt b64>$<hash b64>`, so the cost can be raised later
 * without making the stored ones unreadable. scrypt runs in libuv's thread
 * pool (the async form): a sign-in never blocks the event loop; at most two
 * run at once in the process (password-gate.ts: the pool's other threads stay
 * free for file reads), which also bounds the memory they take.
 */

/** Shorter is refused: length is what makes a password hard to guess (NIST SP 800-63B asks at least 8; we ask more). */
export const PASSWORD_MIN_LENGTH = 12
/** Longer is refused before hashing: a bound on the work one request can ask for. */
export const PASSWORD_MAX_LENGTH = 1024
/**
 * Longer, in UTF-16 units, is refused before it is even normalised: NFC
 * reorders a run of combining marks in quadratic time on the event loop (a
 * 320 KB run of alternating classes held it 8.5 s), so only what could still
 * normalise to PASSWORD_MAX_LENGTH characters is normalised (a character
 * decomposes into at most 4 code points in practice; 4096 units take some 5 ms
 * at worst).
 */
export const PASSWORD_MAX_UNITS = 4 * PASSWORD_MAX_LENGTH

/** N = 2^15, r = 8, p = 1: about 32 MiB and some 100 ms per hash (OWASP's scrypt minimum is N = 2^17 with r = 8, p = 1 for 128 MiB; 2^15 keeps four parallel sign-ins within 128 MiB). */
const COST = Object.freeze({ N: 2 ** 15, r: 8, p: 1 })
const SALT_BYTES = 16
const KEY_BYTES = 32
/**
 * Bounds on what a stored hash may ask for: a record altered to ask for
 * gigabytes is refused, not run. At most 128 * N * r = 256 MiB a check (p
 * runs in turn, not at once, so it costs time, not memory: at most some 3 s),
 * and the gate runs two at once; OWASP's strongest scrypt setting fits.
 */
const MAX_N = 2 ** 17
const MAX_R = 16
const MAX_P = 4
const HASH_PATTERN = /^scrypt\$(\d{1,8})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/

/**
 * What an unknown operator name is checked against, so its refusal takes as
 * long as a wrong password's and does not tell that the name is unknown. Its
 * hash is zeros: no password yields it.
 */
export const DUMMY_PASSWORD_HASH = `scrypt$${COST.N}$${COST.r}$${COST.p}$${Buffer.alloc(SALT_BYTES).toString('base64')}$${Buffer.alloc(KEY_BYTES).toString('base64')}`

/** Why a new password is refused, or undefined when it may be set. Length in characters (code points), after NFC normalisation. */
export function passwordRefusal (password: string): string | undefined {
  if (password.length > PASSWORD_MAX_UNITS) return `a password has at most ${PASSWORD_MAX_LENGTH} characters`
  const length = [...normalise(password)].length
  if (length < PASSWORD_MIN_LENGTH) return `a password has at least ${PASSWORD_MIN_LENGTH} characters`
  if (length > PASSWORD_MAX_LENGTH) return `a password has at most ${PASSWORD_MAX_LENGTH} characters`
  return undefined
}

/** The stored form of a password: a fresh random salt each time, so two equal passwords never share a hash. Throws ADMIN_ERR_PASSWORD_BUSY (password-gate.ts). */
export async function hashPassword (password: string): Promise<string> {
  // Callers check passwordRefusal first; this keeps an unchecked one off the event loop's NFC too.
  if (password.length > PASSWORD_MAX_UNITS) throw new RangeError('password over the length bound')
  const salt = randomBytes(SALT_BYTES)
  const key = await derive(normalise(password), salt, KEY_BYTES, COST)
  return `scrypt$${COST.N}$${COST.r}$${COST.p}$${salt.toString('base64')}$${key.toString('base64')}`
}

/** Whether `presented` is the password of `stored`, compared in constant time; false for a malformed stored hash or an over-long password. Throws ADMIN_ERR_PASSWORD_BUSY (password-gate.ts). */
export async function verifyPassword (stored: string, presented: string): Promise<boolean> {
  const parsed = parseHash(stored)
  if (parsed === undefined) return false
  // Hashed anyway (against the dummy's cost) so an over-long password is not answered sooner; never normalised past PASSWORD_MAX_UNITS.
  const tooLong = presented.length > PASSWORD_MAX_UNITS || [...normalise(presented)].length > PASSWORD_MAX_LENGTH
  const key = await derive(tooLong ? '' : normalise(presented), parsed.salt, parsed.key.length, parsed.cost)
  return !tooLong && timingSafeEqual(key, parsed.key)
}

/** Whether `stored` is a hash this module would check: the scrypt form, its cost within the bounds. */
export function isPasswordHash (stored: string): boolean {
  return parseHash(stored) !== undefined
}

/**
 * What a console session keeps of the stored hash it signed in against:
 * its SHA-256 (hex). A change or clearing of the password changes the
 * stored string, so the session's check fails and it ends.
 */
export function passwordHashDigest (stored: string): string {
  return createHash('sha256').update(stored).digest('hex')
}

/** Constant time: whether a session's kept digest is still the digest of the stored hash. */
export function passwordDigestMatches (stored: string, digest: string): boolean {
  const now = Buffer.from(passwordHashDigest(stored), 'hex')
  const kept = Buffer.from(digest, 'hex')
  return kept.length === now.length && timingSafeEqual(now, kept)
}

interface ParsedHash { readonly cost: { N: number, r: number, p: number }, readonly salt: Buffer, readonly key: Buffer }

function parseHash (stored: string): ParsedHash | undefined {
  const match = HASH_PATTERN.exec(stored)
  if (match === null) return undefined
  const [N, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])]
  const powerOfTwo = N > 1 && (N & (N - 1)) === 0
  if (!powerOfTwo || N > MAX_N || r < 1 || r > MAX_R || p < 1 || p > MAX_P) return undefined
  const salt = Buffer.from(match[4], 'base64')
  const key = Buffer.from(match[5], 'base64')
  if (salt.length < SALT_BYTES || key.length < 16 || key.length > 64) return undefined
  return { cost: { N, r, p }, salt, key }
}

async function derive (password: string, salt: Buffer, length: number, cost: { N: number, r: number, p: number }): Promise<Buffer> {
  // scrypt needs 128 * N * r bytes; Node's default maxmem (32 MiB) is exactly N = 2^15, r = 8, which it refuses: leave room.
  const options: ScryptOptions = { ...cost, maxmem: 256 * cost.N * cost.r + 1024 * 1024 }
  return await PASSWORD_GATE.run(async () => await new Promise((resolve, reject) => {
    scrypt(password, salt, length, options, (err, key) => { if (err === null) resolve(key); else reject(err) })
  }))
}

/** The same password typed on two keyboards (composed or decomposed accents) is the same password. */
function normalise (password: string): string {
  return password.normalize('NFC')
}
