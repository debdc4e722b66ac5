import { lstat, realpath, stat } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { FerryError } from '../errors.ts'
import type { Config } from './config.ts'

/**
 * Which directories may become a synced folder (`ferry folder add`, `ferry join`). A folder is
 * compared by its real path (symlinks resolved), so a symlink cannot put two folders on one
 * directory, nor a folder around ferry's own home. Refused:
 * - `/`, and anything under /proc, /sys or /dev (kernel filesystems, not files);
 * - the home directory (`--home`), anything inside it or containing it: its device key and API
 *   token would become files that sync to every member;
 * - a directory equal to, inside, or containing another folder;
 * - a path that exists but is not a directory (or lies under a file), or a dangling symlink.
 */

/** Kernel filesystems: their entries are not files a user keeps. */
export const SYSTEM_TREES = ['/proc', '/sys', '/dev']

export class FolderPathError extends FerryError {}

/** `child` is `parent` or lies under it (both absolute and normalised). */
export function isInside (parent: string, child: string): boolean {
  if (child === parent) return true
  return child.startsWith(parent.endsWith('/') ? parent : parent + '/')
}

/** One of the two is the other or lies under it. */
export function overlaps (a: string, b: string): boolean {
  return isInside(a, b) || isInside(b, a)
}

export interface LocatedPath {
  /** the real path: symlinks resolved in the part that exists, the missing rest appended */
  real: string
  /** the path exists (as what `isDir` says) */
  exists: boolean
  /** the deepest existing part is a directory */
  isDir: boolean
}

/** Resolves `path` as far as it exists; a missing tail is kept as given (mkdir makes it). */
export async function locatePath (path: string): Promise<LocatedPath> {
  let head = resolve(path)
  const tail: string[] = []
  for (;;) {
    try {
      const real = await realpath(head)
      const isDir = (await stat(real)).isDirectory()
      return { real: tail.length === 0 ? real : join(real, ...tail), exists: tail.length === 0, isDir }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err
      // a symlink whose target is missing: mkdir would fail on it with EEXIST
      if (code === 'ENOENT' && await lstat(head).then(s => s.isSymbolicLink(), () => false)) {
        throw new FolderPathError(`${head} is a symlink to a missing target`, 'ERR_FERRY_FOLDER_NOT_DIR', 'point it at a directory, or give another path')
      }
      const parent = dirname(head)
      if (parent === head) throw err
      tail.unshift(basename(head))
      head = parent
    }
  }
}

/** The real path of a configured folder or home; the path as written when it cannot be resolved. */
async function realOrSame (path: string): Promise<string> {
  try { return (await locatePath(path)).real } catch { return resolve(path) }
}

/**
 * Checks that `path` may become folder `id` of the device whose home is `home`; returns the
 * real path to record (and create). Throws a FolderPathError with a one-line reason.
 */
export async function checkNewFolder (config: Config, id: string, path: string, home: string): Promise<string> {
  if (config.folders[id] !== undefined) {
    throw new FolderPathError(`folder ${id} already exists (at ${config.folders[id].path})`, 'ERR_FERRY_FOLDER_EXISTS', 'run `ferry folder list`')
  }
  const abs = resolve(path)
  const { real, exists, isDir } = await locatePath(abs)
  if (!isDir) {
    throw new FolderPathError(exists ? `${abs} is a file, not a directory` : `${abs} lies under a file, not a directory`, 'ERR_FERRY_FOLDER_NOT_DIR', 'give the path of a directory; a missing one is created')
  }
  if (real === '/') throw new FolderPathError(`refusing to sync ${abs}: it is the whole filesystem`, 'ERR_FERRY_FOLDER_UNSAFE', 'give a directory of your own')
  for (const tree of SYSTEM_TREES) {
    if (isInside(tree, real) || isInside(tree, abs)) {
      throw new FolderPathError(`refusing to sync ${abs}: ${tree} is a kernel filesystem, not files`, 'ERR_FERRY_FOLDER_UNSAFE', 'give a directory of your own')
    }
  }
  const homeReal = await realOrSame(home)
  if (overlaps(homeReal, real) || overlaps(resolve(home), abs)) {
    throw new FolderPathError(`${abs} overlaps ferry's home ${home} (its device key and API token must never sync)`, 'ERR_FERRY_FOLDER_OVERLAP', 'keep the folder and --home apart')
  }
  for (const [other, f] of Object.entries(config.folders)) {
    const otherReal = await realOrSame(f.path)
    if (overlaps(otherReal, real) || overlaps(f.path, abs)) {
      const how = otherReal === real ? 'is the same directory as' : 'overlaps'
      throw new FolderPathError(`${abs} ${how} folder ${other} at ${f.path}`, 'ERR_FERRY_FOLDER_OVERLAP', 'a directory can belong to one folder only, and folders cannot nest')
    }
  }
  return real
}
