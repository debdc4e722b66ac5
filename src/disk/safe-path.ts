import { constants, lstatSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { FerryError } from '../errors.ts'

/**
 * Path confinement: nothing outside a synced folder is ever read or written. Node has no
 * openat(2), so every folder-relative path is checked component by component under the root
 * with lstat (which never follows a link) before it is opened, created, renamed or removed:
 * each parent must be a real directory, not a symbolic link (nor a file or a device), and the
 * entry itself must not be a symbolic link when it is to be opened, changed or listed. A path
 * that fails is refused for that one path (ERR_FERRY_UNSAFE_PATH); the rest of the folder goes
 * on. The root itself is taken as configured (it may be reached through a link of the user's).
 */

/** O_NOFOLLOW where the platform has it (an open of a link then fails instead of following it) */
export const O_NOFOLLOW: number = constants.O_NOFOLLOW ?? 0
/** open flags for reading a folder file: never through a link at its end */
export const O_RDONLY_NOFOLLOW: number = constants.O_RDONLY | O_NOFOLLOW

export class UnsafePathError extends FerryError {
  readonly path: string

  constructor (path: string, reason: string, code = 'ERR_FERRY_UNSAFE_PATH') {
    super(`${path}: ${reason}`, code, code === 'ERR_FERRY_UNSAFE_PATH' ? 'ferry never follows a symbolic link inside a synced folder; replace the link by a directory or ignore the path' : undefined)
    this.path = path
  }
}

/** The segments of a folder-relative path; '', '.', '..', absolute paths and NUL are refused. */
function segmentsOf (rel: string): string[] {
  if (rel === '' || rel.startsWith('/') || rel.includes('\0') || /^[a-zA-Z]:/.test(rel)) throw new UnsafePathError(JSON.stringify(rel), 'not a folder-relative path')
  const segments = rel.split('/')
  for (const s of segments) {
    if (s === '' || s === '.' || s === '..' || s.includes('\\')) throw new UnsafePathError(JSON.stringify(rel), `bad segment ${JSON.stringify(s)}`)
  }
  return segments
}

export interface SafeJoinOptions {
  /**
   * What the entry itself may be: 'nofollow' (default) refuses a symbolic link there (the
   * caller will open, change or list it, which would follow it); 'any' lets the caller see it
   * (lstat, or rename/unlink, which act on the link itself).
   */
  leaf?: 'nofollow' | 'any'
}

function kindOf (st: { isSymbolicLink: () => boolean, isDirectory: () => boolean, isFile: () => boolean }): string {
  if (st.isSymbolicLink()) return 'a symbolic link'
  if (st.isFile()) return 'a file'
  return 'not a directory'
}

/**
 * `root` joined with the folder-relative `rel`, after checking that every parent of `rel` that
 * exists is a real directory (lstat, under the root, component by component; a missing one ends
 * the check: nothing below it exists) and, unless `leaf: 'any'`, that `rel` itself is not a
 * symbolic link. Throws UnsafePathError. Blocking lstat calls: a few microseconds each.
 */
export function safeJoin (root: string, rel: string, options: SafeJoinOptions = {}): string {
  const segments = segmentsOf(rel)
  let abs = root
  for (let i = 0; i < segments.length; i++) {
    abs = join(abs, segments[i]!)
    const leaf = i === segments.length - 1
    if (leaf && options.leaf === 'any') break
    let st
    try {
      st = lstatSync(abs, { throwIfNoEntry: false })
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOTDIR') throw new UnsafePathError(rel, `${segments.slice(0, i).join('/')} is not a directory`, 'ERR_FERRY_NOT_A_DIRECTORY')
      throw err
    }
    if (st === undefined) return join(root, ...segments)
    if (leaf) {
      if (st.isSymbolicLink()) throw new UnsafePathError(rel, 'is a symbolic link')
      break
    }
    if (st.isDirectory()) continue
    const at = segments.slice(0, i + 1).join('/')
    if (st.isFile()) throw new UnsafePathError(rel, `${at} is a file, not a directory`, 'ERR_FERRY_NOT_A_DIRECTORY')
    throw new UnsafePathError(rel, `${at} is ${kindOf(st)}`)
  }
  return abs
}

/** Throws UnsafePathError unless `rel` is confined under `root` (see safeJoin). */
export function assertInsideRoot (root: string, rel: string, options: SafeJoinOptions = {}): void {
  safeJoin(root, rel, options)
}

/**
 * Creates the directory `rel` under `root` and any missing parents, one component at a time
 * (never `mkdir -p` across a link): an existing component must be a real directory. `mode`
 * applies to the directories created (then subject to the umask; the caller chmods what it
 * needs exactly). Returns true when `rel` itself was created.
 */
export async function safeMkdirp (root: string, rel: string, mode = 0o777): Promise<boolean> {
  const segments = segmentsOf(rel)
  let abs = root
  let created = false
  for (let i = 0; i < segments.length; i++) {
    abs = join(abs, segments[i]!)
    created = false
    let st = lstatSync(abs, { throwIfNoEntry: false })
    if (st === undefined) {
      try {
        await mkdir(abs, { mode })
        created = true
        continue
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
        st = lstatSync(abs) // made meanwhile: check what it is
      }
    }
    if (st.isDirectory()) continue
    const at = segments.slice(0, i + 1).join('/')
    throw new UnsafePathError(rel, `${at} is ${kindOf(st)}`, st.isFile() ? 'ERR_FERRY_NOT_A_DIRECTORY' : 'ERR_FERRY_UNSAFE_PATH')
  }
  return created
}

/** The parent of a folder-relative path ('' at the top) */
export function parentOf (rel: string): string {
  const i = rel.lastIndexOf('/')
  return i < 0 ? '' : rel.slice(0, i)
}

/** safeMkdirp of the parent of `rel` (nothing to do at the top) */
export async function safeMkdirParent (root: string, rel: string): Promise<void> {
  const parent = parentOf(rel)
  if (parent !== '') await safeMkdirp(root, parent)
}
