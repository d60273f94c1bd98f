import { createPrivateKey, randomBytes } from 'node:crypto'
import { mkdir, readFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type { Logger } from 'pino'
import { isSealed, kidOfBlob, openValue, sealValue, type BlobSlot } from '../at-rest/key-blob.js'
import type { KeyRing } from '../at-rest/kek.js'
import { writeFileAtomic } from '../atomic-file.js'
import { CertsError } from '../errors.js'
import { inspectCertificate } from '../certificate-facts.js'
import { issue, type Authority } from '../issuance.js'
import { isServerName } from '../names.js'
import { createManagedCa } from '../profiles.js'
import type { IssuedCertRecord } from '../records.js'
import { localSigner } from '../signer.js'

/** What the admin API listens with: its TLS key pair, the CA that signed it, and the bearer token. */
export interface AdminCredentials {
  readonly token: string
  readonly keyPem: string
  readonly certPem: string
  readonly caPem: string
  /** Where the CLI finds the CA (`<dataDir>/admin/ca.pem`) and, unless given by the environment, the token. */
  readonly caFile: string
  readonly tokenFile?: string
}

export function adminCaFile (dataDir: string): string {
  return path.join(dataDir, 'admin', 'ca.pem')
}

export function adminTokenFile (dataDir: string): string {
  return path.join(dataDir, 'admin-token')
}

/**
 * Loads the admin API's credentials from the data dir, creating them on first
 * start: a small CA of its own and a server certificate for this host (the
 * operator CLI trusts that CA), and a random token in `admin-token`, mode
 * 0600, unless MQGATE_ADMIN_TOKEN gives one. The server certificate goes
 * through the one issuance path like every other; it belongs to no
 * organisation, so its record is `admin/issued.json` and its audit line the
 * given log's. The admin CA's key signs that one certificate and is dropped.
 */
export async function ensureAdminCredentials (dataDir: string, tokenFromEnv: string | undefined, log?: Logger, keys?: KeyRing): Promise<AdminCredentials> {
  const dir = path.join(dataDir, 'admin')
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const files = { ca: adminCaFile(dataDir), cert: path.join(dir, 'server.crt'), key: path.join(dir, 'server.key') }
  let [caPem, certPem, keyPem] = await Promise.all([files.ca, files.cert, files.key].map(async f => await readFile(f, 'utf8').catch(() => '')))
  keyPem = await openAdminKey(files.key, keyPem, keys, log)
  if (caPem === '' || certPem === '' || keyPem === '') {
    const ca = await createManagedCa('admin')
    const server = await issue(adminAuthority(dir, ca.certPem, ca.keyPem, log), { kind: 'admin-api', profile: 'server', names: adminNames(), keyType: 'ec' }, 'system')
    await writeFileAtomic(files.key, keys === undefined ? server.keyPem as string : sealValue(keys.current, ADMIN_KEY_SLOT, server.keyPem as string), 0o600)
    await writeFileAtomic(files.cert, server.record.certPem, 0o644)
    await writeFileAtomic(files.ca, ca.certPem, 0o644)
    ;[caPem, certPem, keyPem] = [ca.certPem, server.record.certPem, server.keyPem as string]
  }
  if (tokenFromEnv !== undefined) return { token: tokenFromEnv, keyPem, certPem, caPem, caFile: files.ca }
  const tokenFile = adminTokenFile(dataDir)
  let token = (await readFile(tokenFile, 'utf8').catch(() => '')).trim()
  if (token === '') {
    token = randomBytes(32).toString('base64url')
    await writeFileAtomic(tokenFile, token + '\n', 0o600)
  }
  return { token, keyPem, certPem, caPem, caFile: files.ca, tokenFile }
}

/** The admin API's TLS key, sealed under the KEK like the registry's keys (AAD: this slot). */
const ADMIN_KEY_SLOT: BlobSlot = Object.freeze({ orgId: '-', collection: 'admin', recordId: 'server', field: 'keyPem' })

/**
 * The admin key file's PEM: opened when sealed, sealed in place when an
 * earlier version left it in the clear. A key sealed under a KEK this process
 * does not hold (rotated away) is replaced: the admin CA and certificate are
 * this data dir's own, remade with it ('' makes the caller create them).
 */
async function openAdminKey (file: string, content: string, keys: KeyRing | undefined, log: Logger | undefined): Promise<string> {
  if (content === '' || keys === undefined) return content
  if (!isSealed(content)) {
    await writeFileAtomic(file, sealValue(keys.current, ADMIN_KEY_SLOT, content), 0o600)
    log?.info({ event: 'kek.migrated', file }, 'sealed the admin API key under the key-encryption key')
    return content
  }
  try {
    const pem = openValue(keys, ADMIN_KEY_SLOT, content)
    // After rotate-kek: sealed under the previous key, so seal it under the current one.
    if (kidOfBlob(content) !== keys.current.kid) await writeFileAtomic(file, sealValue(keys.current, ADMIN_KEY_SLOT, pem), 0o600)
    return pem
  } catch (err) {
    if (!(err instanceof CertsError)) throw err
    log?.warn({ event: 'admin.key-replaced', code: err.code, file }, 'the admin API key does not open with this key-encryption key; making new admin credentials (copy the new admin/ca.pem to remote CLIs)')
    return ''
  }
}

/** Host names that reach the admin API here; an os.hostname() that is no DNS name (underscores) is left out. */
function adminNames (): string[] {
  const host = os.hostname()
  return ['localhost', '127.0.0.1', '::1', ...(isServerName(host) && host !== 'localhost' ? [host] : [])]
}

/** The admin CA as an Authority: records in `<dataDir>/admin/issued.json`, audits on the process log. */
function adminAuthority (dir: string, caPem: string, caKeyPem: string, log: Logger | undefined): Authority {
  const file = path.join(dir, 'issued.json')
  return {
    caId: inspectCertificate(caPem).fingerprint,
    signer: localSigner(caPem, createPrivateKey(caKeyPem)),
    record: async (record: IssuedCertRecord) => {
      const earlier = JSON.parse(await readFile(file, 'utf8').catch(() => '[]')) as IssuedCertRecord[]
      await writeFileAtomic(file, JSON.stringify([...earlier, record], null, 2) + '\n', 0o644)
    },
    audit: (actor, action, fields) => log?.info({ event: 'audit', actor, action, orgId: null, ...fields }, action)
  }
}
