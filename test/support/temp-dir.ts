import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

/** A fresh directory under the OS temp dir, and its removal. */
export async function makeTempDir (label: string): Promise<{ dir: string, remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `mqgate-${label}-`))
  // Retried (Node backs off 100 ms a try): a registry write the process began before closing (a device's first use, a lease freed) may land a file
  // while the tree is removed, and rmdir then meets ENOTEMPTY (seen once in a clean-clone run after the renewal retry added such writes).
  return { dir, remove: async () => await rm(dir, { recursive: true, force: true, maxRetries: 5 }) }
}
