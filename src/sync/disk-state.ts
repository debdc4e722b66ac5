import { lstat } from 'node:fs/promises'
import { join } from 'node:path'
import type { FolderStore } from '../store/folder-store.ts'
import { metaOf, sameMeta } from '../scanner/scan-folder.ts'

/** What the checks of the disk against our own records need. */
interface DiskStateComponents {
  root: string
  store: FolderStore
}

/** lstat (bigint times) of `abs`, or undefined when nothing is there */
export async function statOrUndefined (abs: string) {
  try { return await lstat(abs, { bigint: true }) } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

/**
 * True when the disk still holds what our own record says (so replacing it loses nothing the
 * scanner has not seen). A missing file is accepted: replacing nothing loses nothing.
 */
export async function diskMatchesOwn (c: DiskStateComponents, path: string): Promise<boolean> {
  return diskMatchesOwnStat(c, path, await statOrUndefined(join(c.root, path)))
}

/** diskMatchesOwn with the path's lstat already taken (undefined: nothing there) */
export function diskMatchesOwnStat (c: DiskStateComponents, path: string, st: Awaited<ReturnType<typeof statOrUndefined>>): boolean {
  if (st === undefined) return true
  const own = c.store.own(path)
  if (own === undefined || own.deleted) return false
  if (own.type === 'dir') return st.isDirectory()
  if (!st.isFile()) return false
  return sameMeta(c.store.meta(path), metaOf(st))
}
