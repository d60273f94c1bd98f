import { randomBytes } from 'node:crypto'
import { mkdir, readFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { writeFileAtomic } from '../atomic-file.js'
import { createManagedCa, createServerCertificate } from '../profiles.js'

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
 * 0600, unless MQGATE_ADMIN_TOKEN gives one.
 */
export async function ensureAdminCredentials (dataDir: string, tokenFromEnv: string | undefined): Promise<AdminCredentials> {
  const dir = path.join(dataDir, 'admin')
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const files = { ca: adminCaFile(dataDir), cert: path.join(dir, 'server.crt'), key: path.join(dir, 'server.key') }
  let [caPem, certPem, keyPem] = await Promise.all([files.ca, files.cert, files.key].map(async f => await readFile(f, 'utf8').catch(() => '')))
  if (caPem === '' || certPem === '' || keyPem === '') {
    const ca = createManagedCa('admin')
    const server = createServerCertificate(ca, ['localhost', '127.0.0.1', '::1', os.hostname()])
    await writeFileAtomic(files.key, server.keyPem, 0o600)
    await writeFileAtomic(files.cert, server.certPem, 0o644)
    await writeFileAtomic(files.ca, ca.certPem, 0o644)
    ;[caPem, certPem, keyPem] = [ca.certPem, server.certPem, server.keyPem]
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
