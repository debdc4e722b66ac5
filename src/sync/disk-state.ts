import { lstat } from 'node:fs/promises'
import type { FolderStore } from '../store/folder-store.ts'
import { metaOf, sameMeta } from '../model/file-meta.ts'
import { safeJoin, UnsafePathError } from '../disk/safe-path.ts'

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
 * lstat of the folder path `path` after the confinement check (safe-path.ts): a parent that is a
 * link or not a directory, or a link (or device, socket...) at `path` itself, is refused
 * (UnsafePathError): ferry neither follows nor replaces it.
 */
export async function statOwnPath (root: string, path: string) {
  const st = await statOrUndefined(safeJoin(root, path, { leaf: 'any' }))
  if (st !== undefined && !st.isFile() && !st.isDirectory()) throw new UnsafePathError(path, st.isSymbolicLink() ? 'is a symbolic link' : 'is not a regular file or directory')
  return st
}

/**
 * True when the disk still holds what our own record says (so replacing it loses nothing the
 * scanner has not seen). A missing file is accepted: replacing nothing loses nothing.
 */
export async function diskMatchesOwn (c: DiskStateComponents, path: string): Promise<boolean> {
  return diskMatchesOwnStat(c, path, await statOwnPath(c.root, path))
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
