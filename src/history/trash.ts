import { link, lstat, readdir, rename, rm, rmdir } from 'node:fs/promises'
import { join } from 'node:path'
import { INTERNAL_DIR } from '../model/paths.ts'
import { safeJoin, safeMkdirParent, UnsafePathError } from '../disk/safe-path.ts'

/**
 * The local trash: a file that ferry replaces or deletes because of a peer's change is kept in
 * `.ferry/trash/<path>~<YYYYMMDD-HHMMSS>~<seq>` (the time it was trashed, UTC, and the seq of
 * our record that described it), moved there without copying, for the folder's retention
 * period. Files the user changes are not kept here: their old versions are on other devices.
 */
export const TRASH_DIR = `${INTERNAL_DIR}/trash`
export const DEFAULT_RETENTION_DAYS = 14
export const DAY_MS = 24 * 60 * 60 * 1000

export interface TrashEntry {
  /** the folder path the file had */
  path: string
  /** seq of our own record of `path` that described this content */
  seq: number
  trashedAtMs: number
  /** absolute path of the file in the trash */
  file: string
}

const TRASH_NAME = /^(.+)~(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})~(\d+)$/

function stamp (ms: number): string {
  const t = new Date(ms)
  const p2 = (n: number): string => String(n).padStart(2, '0')
  return `${t.getUTCFullYear()}${p2(t.getUTCMonth() + 1)}${p2(t.getUTCDate())}-${p2(t.getUTCHours())}${p2(t.getUTCMinutes())}${p2(t.getUTCSeconds())}`
}

export function trashFileFor (root: string, path: string, seq: number, nowMs = Date.now()): string {
  return join(root, trashRelFor(path, seq, nowMs))
}

/** the folder-relative name of a trash file (see trashFileFor) */
function trashRelFor (path: string, seq: number, nowMs = Date.now()): string {
  return `${TRASH_DIR}/${path}~${stamp(nowMs)}~${seq}`
}

/**
 * Keeps the file at `path` in the trash, for a caller that is about to replace it by renaming
 * another file over it: a hard link now, so the replacement stays one atomic rename (a crash in
 * between leaves the file in place, plus a harmless extra link in the trash; a retry after a failed
 * rename may add a second link to the same file). False when the file system cannot link (the
 * file is then replaced without being kept).
 */
export async function linkToTrash (root: string, path: string, seq: number): Promise<boolean> {
  const to = trashRelFor(path, seq)
  try {
    // every directory on both sides checked (safe-path.ts): nothing is made through a link
    await safeMkdirParent(root, to)
    await link(safeJoin(root, path), safeJoin(root, to, { leaf: 'any' }))
    return true
  } catch (err) {
    if (err instanceof UnsafePathError) throw err // refused, not "cannot link": the file is not replaced
    return (err as NodeJS.ErrnoException).code === 'EEXIST'
  }
}

/** Moves the file at `path` into the trash (a rename). False when it could not be moved. */
export async function moveToTrash (root: string, path: string, seq: number): Promise<boolean> {
  const to = trashRelFor(path, seq)
  try {
    await safeMkdirParent(root, to)
    await rename(safeJoin(root, path, { leaf: 'any' }), safeJoin(root, to, { leaf: 'any' }))
    return true
  } catch (err) {
    if (err instanceof UnsafePathError) throw err // refused: the file is not deleted either
    return false
  }
}

/** Everything in the trash of a folder (names that are not trash names are skipped). */
export async function listTrash (root: string): Promise<TrashEntry[]> {
  const out: TrashEntry[] = []
  const walk = async (rel: string): Promise<void> => {
    let entries
    // never listed through a link (`.ferry`, `.ferry/trash` or a directory in it)
    try { entries = await readdir(safeJoin(root, rel === '' ? TRASH_DIR : `${TRASH_DIR}/${rel}`), { withFileTypes: true }) } catch { return }
    for (const e of entries) {
      const child = rel === '' ? e.name : `${rel}/${e.name}`
      if (e.isDirectory()) { await walk(child); continue }
      if (!e.isFile()) continue
      const m = TRASH_NAME.exec(e.name)
      if (m === null) continue
      const [, base, y, mo, d, h, mi, s, seq] = m
      out.push({
        path: rel === '' ? base! : `${rel}/${base!}`,
        seq: Number(seq),
        trashedAtMs: Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)),
        file: join(root, TRASH_DIR, child)
      })
    }
  }
  await walk('')
  return out
}

/** Removes trash entries older than `retentionMs` (and directories left empty); returns how many. */
export async function cleanTrash (root: string, retentionMs: number, nowMs = Date.now()): Promise<number> {
  let removed = 0
  for (const e of await listTrash(root)) {
    if (nowMs - e.trashedAtMs <= retentionMs) continue
    try { safeJoin(root, `${TRASH_DIR}/${e.file.slice(join(root, TRASH_DIR).length + 1)}`, { leaf: 'any' }) } catch { continue }
    await rm(e.file, { force: true })
    removed++
  }
  if (removed > 0) {
    let dir
    try { dir = safeJoin(root, TRASH_DIR) } catch { return removed }
    await removeEmptyDirs(dir, false)
  }
  return removed
}

async function removeEmptyDirs (dir: string, self: boolean): Promise<void> {
  let entries
  try { entries = await readdir(dir, { withFileTypes: true }) } catch { return }
  for (const e of entries) if (e.isDirectory()) await removeEmptyDirs(join(dir, e.name), true)
  if (self) await rmdir(dir).catch(() => {})
}

/** Size of a trash file, or undefined when it is gone. */
export async function trashFileSize (file: string): Promise<number | undefined> {
  try { return (await lstat(file)).size } catch { return undefined }
}
