import { mkdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import type { Logger } from 'pino'
import { writeFileAtomic } from './atomic-file.js'
import { fileNameForCommonName } from './names.js'
import { issue, orgAuthority } from './issuance.js'
import { managedCaOf } from './records.js'
import type { OrgRegistry } from './org-registry.js'

/** What `mqgate start` creates on an empty data dir, so that a first publish works in a minute. */
export const DEMO_ORG = 'demo'
export const DEMO_IDENTITIES = Object.freeze(['d:sensor:demo-001', 'g:gw:demo-gw', 'a:demo-app'])
/** The demo server certificate also names these, so clients connecting to the loopback verify it. */
export const DEMO_EXTRA_SERVER_NAMES = Object.freeze(['localhost', '127.0.0.1'])

export interface BootstrapFiles {
  readonly dir: string
  readonly caFile: string
  /** CN → { cert, key } file paths */
  readonly identities: Readonly<Record<string, { certFile: string, keyFile: string }>>
  readonly created: boolean
}

/**
 * Ensures the demo organisation and the demo identities' files under
 * `<dataDir>/orgs/demo/bootstrap/`. Files that exist and still chain to the
 * organisation's CA are reused; otherwise they are issued again, through the
 * one issuance path: recorded (kind `bootstrap`), listed by `cert list demo`
 * and revocable like any device certificate.
 */
export async function ensureDemoBootstrap (registry: OrgRegistry, dataDir: string, log: Logger): Promise<BootstrapFiles> {
  const orgCreated = registry.get(DEMO_ORG) === undefined
  if (orgCreated) await registry.createOrg(DEMO_ORG, DEMO_EXTRA_SERVER_NAMES)
  const dir = path.resolve(dataDir, 'orgs', DEMO_ORG, 'bootstrap')
  const caPem = managedCaOf(registry.require(DEMO_ORG)).certPem
  const caFile = path.join(dir, 'ca.pem')
  const identities: Record<string, { certFile: string, keyFile: string }> = {}
  for (const cn of DEMO_IDENTITIES) {
    const base = path.join(dir, fileNameForCommonName(cn))
    identities[cn] = { certFile: `${base}.crt`, keyFile: `${base}.key` }
  }
  if (!orgCreated && await readOrEmpty(caFile) === caPem && await allPresent(identities)) {
    return { dir, caFile, identities, created: false }
  }
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const authority = orgAuthority(registry, DEMO_ORG)
  for (const [cn, files] of Object.entries(identities)) {
    const issued = await issue(authority, { kind: 'bootstrap', profile: 'client', names: [cn] }, 'system')
    await writeFileAtomic(files.keyFile, issued.keyPem as string, 0o600)
    await writeFileAtomic(files.certFile, issued.record.certPem, 0o644)
  }
  await writeFileAtomic(caFile, caPem, 0o644)
  log.info({ event: 'bootstrap.written', orgId: DEMO_ORG, dir, identities: DEMO_IDENTITIES }, 'demo identities written')
  return { dir, caFile, identities, created: true }
}

async function readOrEmpty (file: string): Promise<string> {
  return await readFile(file, 'utf8').catch(() => '')
}

async function allPresent (identities: Record<string, { certFile: string, keyFile: string }>): Promise<boolean> {
  for (const files of Object.values(identities)) {
    if (await readOrEmpty(files.certFile) === '' || await readOrEmpty(files.keyFile) === '') return false
  }
  return true
}
