import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

/** A fresh directory under the OS temp dir, and its removal. */
export async function makeTempDir (label: string): Promise<{ dir: string, remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `mqgate-${label}-`))
  return { dir, remove: async () => await rm(dir, { recursive: true, force: true }) }
}
