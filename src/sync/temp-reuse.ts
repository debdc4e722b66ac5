import { copyFile, constants, rename, rm } from 'node:fs/promises'
import { relative } from 'node:path'
import type { FileRecord } from '../model/file-record.ts'
import { cidKey } from '../hashing/block-cid.ts'
import { metaOf, sameMeta } from '../model/file-meta.ts'
import { diskMatchesOwn, statOrUndefined } from './disk-state.ts'
import { adoptChange, type ApplierComponents } from './applier-components.ts'
import { safeJoin, safeMkdirParent } from '../disk/safe-path.ts'

// A download's temp file can start as one of our own files instead of empty: the source of a
// rename (moved, not copied), or a kernel-side copy of our old version of an edited file.

/**
 * The other half of a rename: when the plan deletes a file of ours holding exactly this content,
 * that file becomes the temp file (a rename, not a copy of every block). Returns undefined when
 * nothing was adopted, else the offsets of the blocks the temp file is known to hold: when the
 * file still had the inode, size and mtime we scanned (checked before the rename, under the disk
 * lock, and again on the temp file after it), it holds our record's blocks, on the same evidence
 * the scanner trusts, and they are not read and hashed again (for a renamed 1 GiB file that was
 * ~1 s). Blocks not known so are verified like any resumed temp file's.
 *
 * The move is the source's delete, and is recorded with it, in the same step under the disk lock
 * (our record adopts the peer's delete; the delete action then finds it done). Otherwise a scan
 * finds the old name gone under a live record of ours until the pass's delete: a local delete,
 * which the delete guard holds for its settle time (the folder stays busy), and which a pass
 * stopped before its delete would send to peers as a delete of ours. A scan that looks between
 * the move and the record drops its tombstone under the disk lock (scan-pass.ts). Should the
 * record fail, the content stays in the temp file, the new name's download progress.
 */
export async function adoptRenameSource (record: FileRecord, tmp: string, c: Pick<ApplierComponents, 'root' | 'store' | 'diskLock' | 'claimRenameSource'>): Promise<Set<number> | undefined> {
  const source = c.claimRenameSource?.(record)
  if (source === undefined) return undefined
  return await c.diskLock.run(async () => {
    if ((c.store.own(source.path)?.seq ?? 0) !== source.base) return undefined
    if (!(await diskMatchesOwn(c, source.path))) return undefined
    if (await statOrUndefined(tmp) !== undefined) return new Set<number>() // an earlier attempt's progress wins
    const own = c.store.own(source.path)
    const meta = c.store.meta(source.path)
    await safeMkdirParent(c.root, relative(c.root, tmp))
    try {
      await rename(safeJoin(c.root, source.path), tmp)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      return undefined
    }
    await c.store.commitLocal([adoptChange(source.deleted, null)])
    const st = await statOrUndefined(tmp)
    if (own === undefined || own.deleted || own.type !== 'file' || st === undefined || !sameMeta(meta, metaOf(st))) return new Set<number>()
    return sameOffsets(own, record)
  })
}

/** offsets where `record` has the same block as `own` */
function sameOffsets (own: FileRecord, record: FileRecord): Set<number> {
  const old = new Map<number, string>()
  let at = 0
  for (const b of own.blocks) { old.set(at, cidKey(b.cid)); at += b.size }
  const same = new Set<number>()
  at = 0
  for (const b of record.blocks) {
    if (old.get(at) === cidKey(b.cid)) same.add(at)
    at += b.size
  }
  return same
}

/** a new version is built on a copy of the old one when at least this share of it is in place */
const CLONE_MIN_SHARE = 0.5

/**
 * An edit of a big file: when most of the new version's blocks sit at the same offsets in our
 * current copy (an overwrite in place, an append), the temp file starts as a kernel-side copy of
 * it (copy_file_range, or a reflink where the file system has them), and only the other blocks
 * are written. The copy's blocks are verified like any resumed temp file's; a copy made while
 * the file changed is thrown away.
 */
export async function cloneOwnVersion (record: FileRecord, tmp: string, c: Pick<ApplierComponents, 'root' | 'store'>): Promise<Set<number>> {
  const none = new Set<number>()
  const own = c.store.own(record.path)
  if (own === undefined || own.deleted || own.type !== 'file' || own.size === 0) return none
  const before = c.store.meta(record.path)
  if (before === undefined) return none
  const inPlace = sameOffsets(own, record)
  let aligned = 0
  let at = 0
  for (const b of record.blocks) {
    if (inPlace.has(at)) aligned += b.size
    at += b.size
  }
  if (aligned < CLONE_MIN_SHARE * record.size) return none
  if (await statOrUndefined(tmp) !== undefined) return none // an earlier attempt's progress wins
  try {
    // (checked: a link there, or above, is refused; copyFile would follow it)
    const abs = safeJoin(c.root, record.path)
    if (!(await diskMatchesOwn(c, record.path))) return none
    await copyFile(abs, tmp, constants.COPYFILE_FICLONE)
    // unchanged during the copy (inode, size, mtime as scanned): the copy holds the scanned
    // blocks, on the same evidence the scanner trusts
    if (await diskMatchesOwn(c, record.path) && c.store.meta(record.path) === before) return inPlace
  } catch {}
  await rm(tmp, { force: true })
  return none
}
