import { chmod, lstat, rmdir, unlink, utimes } from 'node:fs/promises'
import type { FileRecord } from '../model/file-record.ts'
import { fileModeOf } from '../model/file-mode.ts'
import { metaOf, sameMeta } from '../model/file-meta.ts'
import type { LocalMeta } from '../store/local-meta.ts'
import type { Action } from './planner.ts'
import { adoptChange, assertBase, deleteRecorded, LocalChangeError, StalePlanError, type ApplierComponents } from './applier-components.ts'
import { assembleFile, assembleSmallFile, SMALL_FILE_BYTES } from './file-assembler.ts'
import { tempPathFor } from './temp-area.ts'
import { diskMatchesOwn, statOrUndefined, statOwnPath } from './disk-state.ts'
import { safeJoin } from '../disk/safe-path.ts'
import { adoptRenameSource, cloneOwnVersion } from './temp-reuse.ts'
import { createDir, removeToTrash } from './disk-edits.ts'
import { dirOverFile, keepConflictCopy } from './conflict-copy.ts'
import type { Reservation } from './free-space.ts'

export { diskMatchesOwn, SMALL_FILE_BYTES }
export { DirNotEmptyError, LocalChangeError, StalePlanError, type ApplierComponents } from './applier-components.ts'
export { InstallQueue } from './install-queue.ts'

/** the bits an installed file gets: exactly the sender's (model/file-mode.ts) */
function fileMode (record: FileRecord): number {
  return fileModeOf(record.mode)
}

/**
 * Performs one planned action. `base` is the seq of our own record of the path when the plan
 * was made (0: none); if it moved on, StalePlanError. Throws LocalChangeError or a fetch error
 * too; the engine re-plans and retries.
 */
export async function applyAction (action: Action, c: ApplierComponents, base: number, signal?: AbortSignal): Promise<void> {
  switch (action.kind) {
    case 'mkdir': return await makeDir(action.record, c, base)
    case 'fetch': return await installFile(action.record, c, base, signal)
    case 'conflict': {
      const after = await keepConflictCopy(action.path, action.conflictPath, action.local, c, base)
      // a file that lost to a concurrent directory: the directory takes its place
      if (action.record.type === 'dir') return await makeDir(action.record, c, after)
      return await installFile(action.record, c, after, signal)
    }
    case 'adopt': return await adopt(action.record, c, base)
    case 'delete': return await remove(action.record, c, base)
    case 'dir-over-file': return await dirOverFile(action.path, action.local, action.conflictPath, c, base)
  }
}

async function makeDir (record: FileRecord, c: ApplierComponents, base: number): Promise<void> {
  await c.diskLock.run(async () => {
    assertBase(c, record.path, base)
    const st = await statOwnPath(c.root, record.path)
    if (st !== undefined && !st.isDirectory()) {
      if (!(await diskMatchesOwn(c, record.path))) throw new LocalChangeError(record.path)
      await removeToTrash(c, record.path)
    }
    await createDir(c, record.path, record.mode)
    await c.store.commitLocal([adoptChange(record, null)])
  })
}

/**
 * Builds the file in a temp file (file-assembler.ts: blocks already in it from an interrupted
 * attempt are kept, blocks found in local files are copied, the rest fetched and verified),
 * fsynced, then renamed over the target by the install queue: the real name never shows a
 * partial file. The temp file is the download's progress: after a crash or a lost peer, only
 * what it lacks is fetched again.
 */
async function installFile (record: FileRecord, c: ApplierComponents, base: number, signal?: AbortSignal): Promise<void> {
  const tmp = tempPathFor(c.root, record)
  const renamed = await adoptRenameSource(record, tmp, c)
  const small = renamed === undefined && record.size <= SMALL_FILE_BYTES
  const install = async (space?: Reservation): Promise<void> => {
    const meta: LocalMeta = small
      ? await assembleSmallFile(c, { record, tmp, ...(signal === undefined ? {} : { signal }) })
      : await assembleFile(c, { record, tmp, inPlace: renamed ?? await cloneOwnVersion(record, tmp, c), ...(space === undefined ? {} : { space }), ...(signal === undefined ? {} : { signal }) })
    await c.installs.install({ record, tmp, base, meta })
  }
  if (c.space === undefined) return await install()
  // what the disk must still take: a temp file from an earlier attempt (or a renamed file) holds some
  const held = small ? 0 : Number((await statOrUndefined(tmp))?.size ?? 0)
  await c.space.download(record.path, tmp, Math.max(0, record.size - held), install)
}

async function adopt (record: FileRecord, c: ApplierComponents, base: number): Promise<void> {
  await c.diskLock.run(async () => {
    assertBase(c, record.path, base)
    if (!(await diskMatchesOwn(c, record.path))) throw new LocalChangeError(record.path)
    let meta: LocalMeta | null = null
    if (record.type === 'file' && !record.deleted) {
      // (diskMatchesOwn found our file there, not a link: these calls act on the file itself)
      const abs = safeJoin(c.root, record.path)
      // the adopted version's bits too: a version that changed only them arrives as an adopt
      const st = await lstat(abs, { bigint: true })
      if (Number(st.mode & 0o777n) !== fileMode(record)) await chmod(abs, fileMode(record))
      await utimes(abs, record.mtimeMs / 1000, record.mtimeMs / 1000)
      const after = metaOf(await lstat(abs, { bigint: true }))
      // A write that landed between the check and utimes would be vouched for as the adopted
      // version: when the file's size or inode moved, no stat is kept, so the scanner reads it.
      // (A write of the same size within those few microseconds is not seen.)
      const moved = after.ino !== Number(st.ino) || after.size !== Number(st.size) || !sameMeta(c.store.meta(record.path), metaOf(st))
      if (moved) c.onLocalChange?.()
      meta = moved ? null : after
    }
    await c.store.commitLocal([adoptChange(record, meta)])
  })
}

async function remove (record: FileRecord, c: ApplierComponents, base: number): Promise<void> {
  await c.diskLock.run(async () => {
    // the source of a rename: its move recorded this delete (temp-reuse.ts)
    if (deleteRecorded(c, record)) return
    assertBase(c, record.path, base)
    const abs = safeJoin(c.root, record.path, { leaf: 'any' })
    if (!(await diskMatchesOwn(c, record.path))) throw new LocalChangeError(record.path)
    const st = await statOwnPath(c.root, record.path)
    if (st?.isDirectory() === true) {
      try {
        await rmdir(abs)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOTEMPTY') throw err
        // something new lives inside: the directory stays, as a new version everyone revives
        await c.store.commitLocal([{ path: record.path, type: 'dir', size: 0, mode: Number(st.mode & 0o777n), mtimeMs: Date.now(), deleted: false, blocks: [] }])
        return
      }
    } else if (st !== undefined) {
      await removeToTrash(c, record.path)
    }
    await c.store.commitLocal([adoptChange(record, null)])
  })
}

/**
 * Deletes a path nobody else has (`ferry revert` on a read-only device): removed (not moved to the
 * trash), and recorded as a new version of ours, a tombstone bumping our counter.
 */
export async function removeUnshared (path: string, c: ApplierComponents, base: number): Promise<void> {
  await c.diskLock.run(async () => {
    const own = c.store.own(path)
    if ((own?.seq ?? 0) !== base || own === undefined) throw new StalePlanError(path)
    if (!(await diskMatchesOwn(c, path))) throw new LocalChangeError(path)
    const abs = safeJoin(c.root, path, { leaf: 'any' })
    const st = await statOwnPath(c.root, path)
    if (st?.isDirectory() === true) await rmdir(abs)
    else if (st !== undefined) await unlink(abs)
    await c.store.commitLocal([{ path, type: own.type, size: 0, mode: own.mode, mtimeMs: Date.now(), deleted: true, blocks: [], meta: null, base }])
  })
}
