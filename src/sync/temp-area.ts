import { createHash } from 'node:crypto'
import { mkdir, readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { FileRecord } from '../model/file-record.ts'
import { INTERNAL_DIR } from '../model/paths.ts'

/** Where downloads are assembled: the folder's hidden area, on the same file system as their targets. */
export const TEMP_DIR = join(INTERNAL_DIR, 'tmp')
/** Temp files live in the folder's hidden area, on the same file system as their target. */
export function tempPathFor (root: string, record: FileRecord): string {
  const id = createHash('sha256').update(record.path).update('\0').update(JSON.stringify(record.version)).digest('hex').slice(0, 32)
  return join(root, TEMP_DIR, id.slice(0, 1), `${id}.part`)
}

/**
 * Creates `dir` in the temp area again (it was removed under us), but never the folder's root
 * or its internal area: where those are gone the folder is stopped (folder-health.ts), and a
 * recreated root would be an empty folder. Throws ENOENT then.
 */
export async function makeTempDir (root: string, dir: string): Promise<void> {
  await stat(join(root, INTERNAL_DIR))
  await mkdir(dir, { recursive: true })
}

/**
 * Temp files are spread over this many subdirectories (named by the first hex digit of their
 * id): creating thousands of small files in one directory made every create and rename wait
 * for that directory's lock.
 */
export const TEMP_SHARDS = Array.from({ length: 16 }, (_, i) => i.toString(16))

/**
 * Removes every temp file of the folder at `root` (the shard directories stay; anything else in
 * the temp area, temp files or older layouts, goes). Stops as soon as `inUse()` says an install
 * may be writing one.
 */
export async function sweepTempArea (root: string, inUse: () => boolean): Promise<void> {
  const dir = join(root, TEMP_DIR)
  let names: string[]
  try { names = await readdir(dir) } catch { return }
  for (const name of names) {
    if (inUse()) return
    if (!TEMP_SHARDS.includes(name)) { await rm(join(dir, name), { force: true, recursive: true }); continue }
    let inShard: string[]
    try { inShard = await readdir(join(dir, name)) } catch { continue }
    for (const file of inShard) {
      if (inUse()) return
      await rm(join(dir, name, file), { force: true, recursive: true })
    }
  }
}
