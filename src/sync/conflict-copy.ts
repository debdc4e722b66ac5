import { lstat, rename } from 'node:fs/promises'
import type { FileRecord } from '../model/file-record.ts'
import { dirModeOf } from '../model/file-mode.ts'
import { metaOf, sameMeta } from '../model/file-meta.ts'
import type { LocalMeta } from '../store/local-meta.ts'
import type { LocalChange } from '../store/local-index.ts'
import { assertBase, LocalChangeError, type ApplierComponents } from './applier-components.ts'
import { diskMatchesOwn, statOrUndefined, statOwnPath } from './disk-state.ts'
import { safeJoin } from '../disk/safe-path.ts'
import { createDir, removeToTrash } from './disk-edits.ts'

// The applier's conflict actions: the losing local version is kept under its conflict name
// (conflict-name.ts) as a new version of ours, and the winner takes the path.

/**
 * Moves the losing local version aside under its conflict name, as a new version of ours.
 * Returns the base for installing the winner (our record of `path` is unchanged by this).
 */
export async function keepConflictCopy (path: string, conflictPath: string, local: FileRecord, c: ApplierComponents, base: number): Promise<number> {
  return await c.diskLock.run(async () => {
    assertBase(c, path, base)
    if (!(await diskMatchesOwn(c, path))) throw new LocalChangeError(path)
    const from = safeJoin(c.root, path, { leaf: 'any' })
    const to = safeJoin(c.root, conflictPath, { leaf: 'any' })
    if (await statOrUndefined(to) !== undefined) throw new LocalChangeError(conflictPath)
    if (await statOwnPath(c.root, path) === undefined) return base // nothing left to keep
    const meta = await moveAside(path, from, to, c)
    await c.store.commitLocal([{ path: conflictPath, type: 'file', size: local.size, mode: local.mode, mtimeMs: local.mtimeMs, deleted: false, blocks: local.blocks, meta }])
    c.onConflictCopy?.(path, conflictPath, local)
    return base
  })
}

/**
 * Renames our file at `path` (checked against our record by the caller) to `to`. Returns the
 * stat its blocks were hashed from, which the copy's record keeps: a rename changes neither inode,
 * size nor mtime. The user may write to the file between the check and the rename (a write that
 * opened it before); its stat after the rename then differs from that one, so the scanner reads
 * the copy again and records the write as a new version of it. Keeping the stat taken after the
 * rename would vouch for the old blocks over the new content: the write would never sync, and
 * the blocks served from the copy would not match their hashes.
 */
async function moveAside (path: string, from: string, to: string, c: ApplierComponents): Promise<LocalMeta | null> {
  const checked = c.store.meta(path) ?? null
  await rename(from, to)
  const after = metaOf(await lstat(to, { bigint: true }))
  if (checked === null || !sameMeta(checked, after)) c.onLocalChange?.()
  return checked
}

/**
 * A type conflict (planner.ts): our file at `path` stands where live entries lie below. It is
 * kept as `conflictPath` (or, when that is not wanted, goes to the trash), and `path` becomes a
 * directory: both as new versions of ours, in one commit.
 */
export async function dirOverFile (path: string, local: FileRecord, conflictPath: string | undefined, c: ApplierComponents, base: number): Promise<void> {
  await c.diskLock.run(async () => {
    assertBase(c, path, base)
    if (!(await diskMatchesOwn(c, path))) throw new LocalChangeError(path)
    const st = await statOwnPath(c.root, path)
    const changes: LocalChange[] = []
    if (st?.isFile() === true) {
      if (conflictPath !== undefined) {
        const to = safeJoin(c.root, conflictPath, { leaf: 'any' })
        if (await statOrUndefined(to) !== undefined) throw new LocalChangeError(conflictPath)
        const meta = await moveAside(path, safeJoin(c.root, path), to, c)
        changes.push({ path: conflictPath, type: 'file', size: local.size, mode: local.mode, mtimeMs: local.mtimeMs, deleted: false, blocks: local.blocks, meta })
      } else {
        await removeToTrash(c, path)
      }
    }
    await createDir(c, path, 0)
    changes.push({ path, type: 'dir', size: 0, mode: dirModeOf(0), mtimeMs: Date.now(), deleted: false, blocks: [], meta: null, base })
    await c.store.commitLocal(changes)
    if (conflictPath !== undefined) c.onConflictCopy?.(path, conflictPath, local)
  })
}

