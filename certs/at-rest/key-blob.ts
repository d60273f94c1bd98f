import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { CertsError } from '../errors.js'
import { kekById, type Kek, type KeyRing } from './kek.js'

/**
 * A private key sealed for storage:
 * `mqgate-kek:v1:<kid>:<iv b64>:<ciphertext b64>:<tag b64>`.
 * AES-256-GCM (NIST SP 800-38D) with a random 96-bit IV per write (a fresh IV
 * for every seal keeps the (key, IV) pair unique, which GCM's security rests
 * on) and the slot the blob belongs to as additional authenticated data, so a
 * blob copied into another record, organisation or field fails to open.
 */
export const BLOB_PREFIX = 'mqgate-kek:v1:'
const IV_BYTES = 12
const TAG_BYTES = 16

/** Where a sealed value lives: the identity it is bound to. */
export interface BlobSlot {
  readonly orgId: string
  readonly collection: string
  readonly recordId: string
  readonly field: string
}

export function isSealed (value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(BLOB_PREFIX)
}

export function sealValue (kek: Kek, slot: BlobSlot, plaintext: string): string {
  const iv = randomBytes(IV_BYTES)
  const cipher = createCipheriv('aes-256-gcm', kek.key, iv, { authTagLength: TAG_BYTES })
  cipher.setAAD(aadOf(slot))
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return `${BLOB_PREFIX}${kek.kid}:${iv.toString('base64')}:${ciphertext.toString('base64')}:${cipher.getAuthTag().toString('base64')}`
}

/** The id of the key a blob was sealed under. */
export function kidOfBlob (blob: string): string {
  return partsOf(blob, undefined).kid
}

export function openValue (ring: KeyRing, slot: BlobSlot, blob: string): string {
  const { kid, iv, ciphertext, tag } = partsOf(blob, slot)
  const kek = kekById(ring, kid)
  if (kek === undefined) {
    const held = [ring.current, ...ring.previous].map(k => k.kid).join(', ')
    throw new CertsError('CERTS_ERR_KEK_MISMATCH', `the registry's keys are encrypted under key-encryption key ${kid}, but this process holds ${held}: set MQGATE_KEK (or MQGATE_KEK_FILE) to the key the registry was written with`)
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', kek.key, iv, { authTagLength: TAG_BYTES })
    decipher.setAAD(aadOf(slot))
    decipher.setAuthTag(tag)
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8')
  } catch {
    throw invalid(slot, 'it was altered, or moved from another record')
  }
}

/** The AAD names the slot with NUL separators: none of its parts can hold a NUL (ids are [A-Za-z0-9._:-]). */
function aadOf (slot: BlobSlot): Buffer {
  return Buffer.from(['mqgate-kek:v1', slot.orgId, slot.collection, slot.recordId, slot.field].join('\0'), 'utf8')
}

function partsOf (blob: string, slot: BlobSlot | undefined): { kid: string, iv: Buffer, ciphertext: Buffer, tag: Buffer } {
  const parts = blob.slice(BLOB_PREFIX.length).split(':')
  const [kid, iv, ciphertext, tag] = parts.map((p, i) => i === 0 ? p : Buffer.from(p, 'base64')) as [string, Buffer, Buffer, Buffer]
  if (!blob.startsWith(BLOB_PREFIX) || parts.length !== 4 || !/^[0-9a-f]{16}$/.test(kid) || iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
    throw invalid(slot, 'it is not a well-formed mqgate-kek:v1 blob')
  }
  return { kid, iv, ciphertext, tag }
}

function invalid (slot: BlobSlot | undefined, why: string): CertsError {
  const where = slot === undefined ? 'a stored key' : `the ${slot.field} of ${slot.collection}/${slot.recordId} in organisation ${slot.orgId}`
  return new CertsError('CERTS_ERR_KEY_BLOB_INVALID', `${where} does not decrypt: ${why}`)
}
