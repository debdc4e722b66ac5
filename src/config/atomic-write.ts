import { open, rename, unlink } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'

/**
 * Writes `data` to `path` so that a crash leaves either the old or the new file: temp file
 * (next to `path`, or in `tmpDir` on the same file system, where leftovers are easy to sweep),
 * fsync, rename over, fsync the directory.
 */
export async function writeFileAtomic (path: string, data: string | Uint8Array, mode = 0o644, tmpDir?: string): Promise<void> {
  const tmp = tmpDir === undefined ? `${path}.${randomBytes(6).toString('hex')}.tmp` : join(tmpDir, `${randomBytes(8).toString('hex')}.tmp`)
  const fh = await open(tmp, 'wx', mode)
  try {
    await fh.writeFile(data)
    await fh.sync()
  } catch (err) {
    await fh.close()
    await unlink(tmp).catch(() => {})
    throw err
  }
  await fh.close()
  await rename(tmp, path)
  const dir = await open(dirname(path), 'r')
  try { await dir.sync() } finally { await dir.close() }
}
