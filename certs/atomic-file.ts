import { randomUUID } from 'node:crypto'
import { open, rename, rm } from 'node:fs/promises'

/**
 * Replaces `file` with `data` so that readers and crashes see the old or the
 * new content, never a mix: write a sibling, fsync, rename over. `mode` is set
 * at creation, so a key file is never readable by others, not even briefly.
 */
export async function writeFileAtomic (file: string, data: string | Buffer, mode: number): Promise<void> {
  const tmp = `${file}.${randomUUID()}.tmp`
  try {
    const handle = await open(tmp, 'wx', mode)
    try {
      await handle.writeFile(data)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(tmp, file)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
}
