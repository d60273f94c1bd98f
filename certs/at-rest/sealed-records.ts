import type { Collection, CollectionRecords } from '../records.js'
import { recordKey } from '../registry-store.js'
import type { KeyRing } from './kek.js'
import { isSealed, openValue, sealValue, type BlobSlot } from './key-blob.js'

/**
 * The fields of each collection that hold a private key (records.ts): the
 * managed CA's key and its delegated OCSP signer's, and a server certificate's key (ready or still a pending
 * CSR's). A new key field is added here; until it is, `keyFieldsOf` still
 * seals any top-level string that is a PEM private key, so no key reaches a
 * store in the clear because this table was forgotten.
 */
export const KEY_FIELDS: { readonly [C in Collection]: readonly string[] } = Object.freeze({
  cas: ['keyPem', 'ocspSignerKeyPem'],
  'server-certs': ['keyPem'],
  revocations: [],
  gateways: [],
  renewals: [],
  issued: [],
  claims: [],
  'enroll-tokens': []
})

const PEM_PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/

/** The fields of this record to seal or open: declared ones, any PEM private key, any sealed blob. */
export function keyFieldsOf (collection: Collection, record: object): string[] {
  return Object.entries(record)
    .filter(([field, value]) => typeof value === 'string' && (KEY_FIELDS[collection].includes(field) || PEM_PRIVATE_KEY.test(value) || isSealed(value)))
    .map(([field]) => field)
}

export function slotOf (orgId: string, collection: Collection, record: object, field: string): BlobSlot {
  return { orgId, collection, recordId: recordKey(collection, record as { id?: string, fingerprint?: string }), field }
}

/** The record as it goes to the store: every key field sealed under the ring's current key (sealed ones kept). */
export function sealRecord<C extends Collection> (ring: KeyRing, orgId: string, collection: C, record: CollectionRecords[C]): CollectionRecords[C] {
  const sealed: Record<string, unknown> = { ...record }
  for (const field of keyFieldsOf(collection, record)) {
    const value = sealed[field] as string
    if (!isSealed(value)) sealed[field] = sealValue(ring.current, slotOf(orgId, collection, record, field), value)
  }
  return sealed as unknown as CollectionRecords[C]
}

/**
 * The record as the registry uses it: every sealed field opened. A plaintext
 * key (a record from before encryption at rest) passes as it is: the start-up
 * migration (seal-stored-keys.ts) seals it in the store.
 */
export function openRecord<C extends Collection> (ring: KeyRing, orgId: string, collection: C, record: CollectionRecords[C]): CollectionRecords[C] {
  const opened: Record<string, unknown> = { ...record }
  for (const field of keyFieldsOf(collection, record)) {
    const value = opened[field] as string
    if (isSealed(value)) opened[field] = openValue(ring, slotOf(orgId, collection, record, field), value)
  }
  return opened as unknown as CollectionRecords[C]
}
