import { createHash } from 'node:crypto'
import { lstatSync } from 'node:fs'
import { lstat, readdir, rm, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { FileRecord } from '../model/file-record.ts'
import { INTERNAL_DIR } from '../model/paths.ts'
import { safeJoin, safeMkdirp, UnsafePathError } from '../disk/safe-path.ts'

/** Where downloads are assembled: the folder's hidden area, on the same file system as their targets. */
export const TEMP_DIR = `${INTERNAL_DIR}/tmp`

/** The folder-relative temp file of `record` (see tempPathFor). */
export function tempRelFor (record: FileRecord): string {
  const id = createHash('sha256').update(record.path).update('\0').update(JSON.stringify(record.version)).digest('hex').slice(0, 32)
  return `${TEMP_DIR}/${id.slice(0, 1)}/${id}.part`
}

/**
 * Temp files live in the folder's hidden area, on the same file system as their target. The
 * path is checked (safe-path.ts): a link planted as `.ferry`, `.ferry/tmp` or a shard is refused.
 */
export function tempPathFor (root: string, record: FileRecord): string {
  return safeJoin(root, tempRelFor(record))
}

/**
 * Creates the folder-relative directory `rel` in the temp area again (it was removed under us),
 * checked component by component (safe-path.ts), but never the folder's root or its internal
 * area: where those are gone the folder is stopped (folder-health.ts), and a recreated root
 * would be an empty folder. Throws ENOENT then.
 */
export async function makeTempDir (root: string, rel: string): Promise<void> {
  if (!(await lstat(join(root, INTERNAL_DIR))).isDirectory()) throw new UnsafePathError(INTERNAL_DIR, 'is not a directory')
  await safeMkdirp(root, rel)
}

/**
 * Temp files are spread over this many subdirectories (named by the first hex digit of their
 * id): creating thousands of small files in one directory made every create and rename wait
 * for that directory's lock.
 */
export const TEMP_SHARDS = Array.from({ length: 16 }, (_, i) => i.toString(16))

/**
 * Makes the temp area's directories. The temp area is ferry's own: a symbolic link found in
 * place of `.ferry/tmp` or a shard is removed (the link only, never what it points to) and a
 * real directory made; a link in place of `.ferry` itself is refused (UnsafePathError), since
 * what it points to is not ferry's to judge.
 */
export async function prepareTempArea (root: string): Promise<void> {
  await safeMkdirp(root, INTERNAL_DIR)
  await replaceLink(root, TEMP_DIR)
  for (const shard of TEMP_SHARDS) await replaceLink(root, `${TEMP_DIR}/${shard}`)
}

async function replaceLink (root: string, rel: string): Promise<void> {
  const abs = join(root, rel)
  if (lstatSync(abs, { throwIfNoEntry: false })?.isSymbolicLink() === true) await unlink(abs)
  await safeMkdirp(root, rel)
}

/**
 * Removes every temp file of the folder at `root` (the shard directories stay; anything else in
 * the temp area, temp files or older layouts, goes). Stops as soon as `inUse()` says an install
 * may be writing one. Nothing reached through a link is listed or removed (a link is removed
 * itself).
 */
export async function sweepTempArea (root: string, inUse: () => boolean): Promise<void> {
  let dir: string
  try { dir = safeJoin(root, TEMP_DIR) } catch { return }
  let names: string[]
  try { names = await readdir(dir) } catch { return }
  for (const name of names) {
    if (inUse()) return
    const st = lstatSync(join(dir, name), { throwIfNoEntry: false })
    if (!TEMP_SHARDS.includes(name) || st?.isDirectory() !== true) { await rm(join(dir, name), { force: true, recursive: true }); continue }
    let inShard: string[]
    try { inShard = await readdir(safeJoin(root, `${TEMP_DIR}/${name}`)) } catch { continue }
    for (const file of inShard) {
      if (inUse()) return
      await rm(join(dir, name, file), { force: true, recursive: true })
    }
  }
}
