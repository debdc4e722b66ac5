import { fsync, futimesSync, fchmodSync, fstatSync, lstatSync, renameSync, writeSync } from 'node:fs'
import { chmod, constants, lstat, open, rename, rm, rmdir, unlink, utimes, type FileHandle } from 'node:fs/promises'
import { relative } from 'node:path'
import type { Logger } from '@libp2p/logger'
import type { CID } from 'multiformats/cid'
import type { FileRecord } from '../model/file-record.ts'
import { blockOffsets } from '../model/file-record.ts'
import { dirModeOf, fileModeOf } from '../model/file-mode.ts'
import type { FolderStore, LocalChange, LocalMeta } from '../store/folder-store.ts'
import type { AsyncLock } from '../store/async-lock.ts'
import { blockMatches, cidKey } from '../hashing/block-cid.ts'
import { metaOf } from '../model/file-meta.ts'
import type { Action } from './planner.ts'
import type { BlockBytes, WantedBlock } from '../../protocols/blocks/index.ts'
import { blockParts } from '../../protocols/blocks/block-bytes.ts'
import type { TransferProgress } from './transfer-progress.ts'
import { FerryError } from '../errors.ts'
import { makeTempDir, tempPathFor } from './temp-area.ts'
import { diskMatchesOwn, diskMatchesOwnStat, statOrUndefined, statOwnPath } from './disk-state.ts'
import { O_NOFOLLOW, parentOf, safeJoin, safeMkdirParent, safeMkdirp, UnsafePathError } from './safe-path.ts'
import { adoptRenameSource, cloneOwnVersion } from './temp-reuse.ts'
import { LocalFiles, readLocalBlock, WriteBehind } from './local-blocks.ts'
import { linkToTrash, moveToTrash } from '../history/trash.ts'
import type { FreeSpace, Reservation } from './free-space.ts'

export { diskMatchesOwn }

export interface ApplierComponents {
  root: string
  store: FolderStore
  /** serialises "check the disk, change it, record it" against the scanner */
  diskLock: AsyncLock
  /** fetches blocks of `record` from peers; throws when they cannot all be had */
  fetchBlocks: (record: FileRecord, wanted: WantedBlock[], onBlock: (cid: CID, data: BlockBytes) => Promise<void>, signal?: AbortSignal) => Promise<void>
  log: Logger
  /** files being assembled, for status and progress lines */
  progress?: TransferProgress
  /** moves finished temp files into place (grouped) */
  installs: InstallQueue
  /**
   * A file of ours with exactly this content that the current plan deletes (with the seq of our
   * record it was planned against), claimed once: a rename moves it instead of copying it.
   */
  claimRenameSource?: (record: FileRecord) => { path: string, base: number } | undefined
  /** the losing local version of `path` was just kept as `conflictPath` */
  onConflictCopy?: (path: string, conflictPath: string, local: FileRecord) => void
  /** downloads are checked against the disk's free space (free-space.ts) */
  space?: FreeSpace
}

/** The local file changed under us: leave it, let the scanner record it, plan again. */
export class LocalChangeError extends FerryError {
  constructor (path: string) {
    super(`${path} changed locally while syncing`, 'ERR_FERRY_LOCAL_CHANGE')
  }
}

/**
 * A directory that must become a file still holds entries we have no record of: new ones (the
 * scanner records them, and the planner decides again) or ignored ones (the user must move them).
 */
export class DirNotEmptyError extends FerryError {
  constructor (path: string) {
    super(`${path} is a directory holding entries ferry does not sync (ignored, or not scanned yet); it cannot become a file`, 'ERR_FERRY_DIR_NOT_EMPTY')
  }
}

/** Our record of the path moved on since the action was planned (a scan landed): plan again. */
export class StalePlanError extends FerryError {
  constructor (path: string) {
    super(`${path}: plan is stale`, 'ERR_FERRY_STALE_PLAN')
  }
}

/** Under the disk lock: the record the plan was made against must still be ours. */
function assertBase (c: ApplierComponents, path: string, base: number): void {
  if ((c.store.own(path)?.seq ?? 0) !== base) throw new StalePlanError(path)
}

function adoptChange (record: FileRecord, meta: LocalMeta | null): LocalChange {
  return { path: record.path, type: record.type, size: record.size, mode: record.mode, mtimeMs: record.mtimeMs, deleted: record.deleted, blocks: record.blocks, adopt: record, meta }
}

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

/** Creates `path` as a directory with the bits of `mode` (dirModeOf), unless one is there. */
async function createDir (c: ApplierComponents, path: string, mode: number): Promise<void> {
  if (await safeMkdirp(c.root, path, dirModeOf(mode))) await chmod(safeJoin(c.root, path), dirModeOf(mode)) // (the umask may have taken bits)
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
 * A type conflict (planner.ts): our file at `path` stands where live entries lie below. It is
 * kept as `conflictPath` (or, when that is not wanted, goes to the trash), and `path` becomes a
 * directory: both as new versions of ours, in one commit.
 */
async function dirOverFile (path: string, local: FileRecord, conflictPath: string | undefined, c: ApplierComponents, base: number): Promise<void> {
  await c.diskLock.run(async () => {
    assertBase(c, path, base)
    if (!(await diskMatchesOwn(c, path))) throw new LocalChangeError(path)
    const st = await statOwnPath(c.root, path)
    const changes: LocalChange[] = []
    if (st?.isFile() === true) {
      if (conflictPath !== undefined) {
        const to = safeJoin(c.root, conflictPath, { leaf: 'any' })
        if (await statOrUndefined(to) !== undefined) throw new LocalChangeError(conflictPath)
        await rename(safeJoin(c.root, path), to)
        const meta = metaOf(await lstat(to, { bigint: true }))
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

const OPEN_OR_CREATE = constants.O_RDWR | constants.O_CREAT | O_NOFOLLOW
/** temp files are private while they are assembled; they get the record's bits before the rename */
const TEMP_FILE_MODE = 0o600

/**
 * Opens the temp file `tmp` (absolute, checked by tempPathFor) with `flags`: when the temp area
 * was removed under us its directory is made again (checked, safe-path.ts); a temp file left
 * without write permission (an earlier attempt's, a renamed or copied file of ours) is made
 * writable first.
 */
async function openTempFile (root: string, tmp: string, flags: number): Promise<FileHandle> {
  try {
    return await open(tmp, flags, TEMP_FILE_MODE)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') await makeTempDir(root, parentOf(relative(root, tmp))) // the temp area was removed under us
    else if (code === 'EACCES') await chmod(tmp, TEMP_FILE_MODE)
    else throw err
    return await open(tmp, flags, TEMP_FILE_MODE)
  }
}

/**
 * Opens (or creates) the temp file of `record`; `resumed` when an earlier attempt left content
 * in it. One open and one fstat: a file of a thousand small ones costs a few system calls less.
 */
async function openTemp (root: string, tmp: string): Promise<{ fh: FileHandle, resumed: boolean }> {
  const fh = await openTempFile(root, tmp, OPEN_OR_CREATE)
  try {
    const st = await fh.stat()
    return { fh, resumed: st.size > 0 }
  } catch (err) {
    await fh.close()
    throw err
  }
}

/** True when the temp file already holds `cid` at `at` (written and intact before a restart). */
async function holdsBlock (fh: FileHandle, cid: CID, size: number, at: number): Promise<boolean> {
  const buf = Buffer.allocUnsafe(size)
  const { bytesRead } = await fh.read(buf, 0, size, at)
  return bytesRead === size && blockMatches(cid, buf)
}

/**
 * Builds the file in a temp file (blocks already in it from an interrupted attempt are kept,
 * blocks found in local files are copied, the rest fetched and verified), fsyncs it, then renames
 * it over the target: the real name never shows a partial file. The temp file is the download's
 * progress: after a crash or a lost peer, only what it lacks is fetched again.
 */
async function installFile (record: FileRecord, c: ApplierComponents, base: number, signal?: AbortSignal): Promise<void> {
  const tmp = tempPathFor(c.root, record)
  const renamed = await adoptRenameSource(record, tmp, c)
  const small = renamed === undefined && record.size <= SMALL_FILE_BYTES
  const install = async (space?: Reservation): Promise<void> => small ? await installSmallFile(record, tmp, c, base, signal) : await installLargeFile(record, tmp, renamed, c, base, signal, space)
  if (c.space === undefined) return await install()
  // what the disk must still take: a temp file from an earlier attempt (or a renamed file) holds some
  const held = small ? 0 : Number((await statOrUndefined(tmp))?.size ?? 0)
  await c.space.download(record.path, tmp, Math.max(0, record.size - held), install)
}

async function installLargeFile (record: FileRecord, tmp: string, renamed: Set<number> | undefined, c: ApplierComponents, base: number, signal?: AbortSignal, space?: Reservation): Promise<void> {
  const inPlace = renamed ?? await cloneOwnVersion(record, tmp, c)
  const mode = fileMode(record)
  const { fh, resumed } = await openTemp(c.root, tmp)
  c.progress?.start(record.path, record.size)
  const writes = new WriteBehind(fh)
  const files = new LocalFiles(c.root)
  let meta: LocalMeta
  try {
    const offsets = blockOffsets(record)
    // a new temp file needs no size: the blocks tile the file, the last write sets its length
    if (resumed) await fh.truncate(record.size)
    const writeBlock = async (cid: CID, data: BlockBytes): Promise<void> => {
      for (const at of offsets.get(cidKey(cid))?.at ?? []) {
        await writes.write(data, at)
        space?.wrote(data.byteLength)
        c.progress?.add(record.path, data.byteLength)
      }
    }
    const wanted: WantedBlock[] = []
    for (const { cid, size, at } of offsets.values()) {
      signal?.throwIfAborted()
      if (resumed && (inPlace.has(at[0]!) || await holdsBlock(fh, cid, size, at[0]!))) {
        c.progress?.add(record.path, size)
        if (at.length > 1) {
          const data = new Uint8Array(size)
          await fh.read(data, 0, size, at[0]!)
          await writeBlock(cid, data)
        }
        continue
      }
      const data = await readLocalBlock(c, cid, size, files)
      if (data !== undefined) {
        await writeBlock(cid, data)
      } else {
        wanted.push({ cid, size })
      }
    }
    if (wanted.length > 0) await c.fetchBlocks(record, wanted, writeBlock, signal)
    await writes.flush()
    await fh.chmod(mode) // exactly the record's bits, whatever the umask or the temp file's were
    await fh.utimes(record.mtimeMs / 1000, record.mtimeMs / 1000)
    await fh.sync() // content, size, mode and times durable before the rename
    // what the scan cache will say: a rename keeps inode, size, mtime and mode
    meta = metaOf(await fh.stat({ bigint: true }))
  } finally {
    // on failure the temp file stays: it is the progress the next attempt resumes from
    await writes.flush().catch(() => {})
    await files.close()
    await fh.close()
    c.progress?.end(record.path)
  }
  await c.installs.install({ record, tmp, base, meta })
}

/**
 * Files up to this size are assembled in memory and written, fsynced and stat'ed in one go, with
 * blocking calls except the fsync (which waits for the disk, on the thread pool): for thousands
 * of small files, the CPU cost of a thread-pool round trip per open/write/utimes/stat/close was
 * most of the receiver's work. Nothing is resumed from an older temp file of such a size: it is
 * overwritten (fetching a few KiB again is cheaper than checking them).
 */
export const SMALL_FILE_BYTES = 64 * 1024

async function installSmallFile (record: FileRecord, tmp: string, c: ApplierComponents, base: number, signal?: AbortSignal): Promise<void> {
  const data = new Uint8Array(record.size)
  const offsets = blockOffsets(record)
  c.progress?.start(record.path, record.size)
  let meta: LocalMeta
  try {
    const place = (cid: CID, bytes: BlockBytes): void => {
      for (const at of offsets.get(cidKey(cid))?.at ?? []) {
        let o = at
        for (const part of blockParts(bytes)) { data.set(part, o); o += part.byteLength }
        c.progress?.add(record.path, bytes.byteLength)
      }
    }
    const wanted: WantedBlock[] = []
    for (const { cid, size } of offsets.values()) {
      signal?.throwIfAborted()
      const local = c.store.blockLocations(cid).length > 0 ? await readLocalBlock(c, cid, size) : undefined
      if (local !== undefined) place(cid, local)
      else wanted.push({ cid, size })
    }
    if (wanted.length > 0) await c.fetchBlocks(record, wanted, async (cid, bytes) => { place(cid, bytes) }, signal)
    const mode = fileMode(record)
    // the open stays on the thread pool: creating a file is the one costly call here (the
    // file system's inode allocation), and it runs there beside the event loop
    const fh = await openTempFile(c.root, tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | O_NOFOLLOW)
    const fd = fh.fd
    try {
      let done = 0
      while (done < data.byteLength) done += writeSync(fd, data, done, data.byteLength - done, done)
      if ((fstatSync(fd).mode & 0o777) !== mode) fchmodSync(fd, mode) // exactly the record's bits
      futimesSync(fd, record.mtimeMs / 1000, record.mtimeMs / 1000)
      await new Promise<void>((resolve, reject) => { fsync(fd, err => { if (err === null) resolve(); else reject(err) }) })
      meta = metaOf(fstatSync(fd, { bigint: true }))
    } finally {
      await fh.close()
    }
  } finally {
    c.progress?.end(record.path)
  }
  await c.installs.install({ record, tmp, base, meta })
}

interface PendingInstall {
  record: FileRecord
  tmp: string
  base: number
  /** the temp file's stat, for the scan cache (a rename does not change it) */
  meta: LocalMeta
  done: PromiseWithResolvers<void>
}

/**
 * Moves finished temp files into place in groups: one disk-lock hold and one database batch for
 * everything that is ready, instead of one each per file (many small files would otherwise
 * queue behind the lock). Each file is still checked, renamed and recorded atomically with
 * respect to the scanner.
 */
export class InstallQueue {
  private readonly c: Omit<ApplierComponents, 'installs'>
  private queue: PendingInstall[] = []
  private running = false

  constructor (components: Omit<ApplierComponents, 'installs'>) {
    this.c = components
  }

  async install (item: Omit<PendingInstall, 'done'>): Promise<void> {
    const done = Promise.withResolvers<void>()
    this.queue.push({ ...item, done })
    if (!this.running) void this.drain()
    await done.promise
  }

  private async drain (): Promise<void> {
    this.running = true
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_INSTALL_BATCH)
        try {
          await this.c.diskLock.run(async () => { await this.commit(batch) })
        } catch (err) {
          for (const item of batch) item.done.reject(err)
        }
      }
    } finally {
      this.running = false
    }
  }

  private async commit (batch: PendingInstall[]): Promise<void> {
    const c = this.c
    // each file is checked and renamed on its own (different paths), all of the batch at once
    const outcome = await Promise.all(batch.map(async item => {
      const { record, tmp } = item
      try {
        if ((c.store.own(record.path)?.seq ?? 0) !== item.base) throw new StalePlanError(record.path)
        // every parent a real directory under the root (safe-path.ts), nothing written through a link
        const abs = safeJoin(c.root, record.path, { leaf: 'any' })
        // blocking lstat and rename: metadata calls of a few microseconds, where a thread-pool
        // round trip each cost more (a batch holds up the event loop a few milliseconds)
        const st = lstatSync(abs, { bigint: true, throwIfNoEntry: false })
        if (st !== undefined && !st.isFile() && !st.isDirectory()) throw new UnsafePathError(record.path, st.isSymbolicLink() ? 'is a symbolic link' : 'is not a regular file or directory')
        if (!diskMatchesOwnStat(c, record.path, st)) throw new LocalChangeError(record.path)
        if (st?.isDirectory() === true) {
          // a directory replaced by a file: only if empty. Something unrecorded inside (new, or
          // ignored): the scanner looks, the planner decides again (a type conflict if it is live)
          try { await rmdir(abs) } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'ENOTEMPTY' || (err as NodeJS.ErrnoException).code === 'EEXIST') throw new DirNotEmptyError(record.path)
            throw err
          }
        } else if (st !== undefined) {
          await linkToTrash(c.root, record.path, c.store.own(record.path)!.seq) // the old version stays in the trash
        }
        try {
          renameSync(tmp, abs)
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || await statOrUndefined(tmp) === undefined) throw err
          await safeMkdirParent(c.root, record.path)
          await rename(tmp, safeJoin(c.root, record.path, { leaf: 'any' }))
        }
        return true
      } catch (err) {
        await rm(tmp, { force: true })
        item.done.reject(err)
        return false
      }
    }))
    const placed = batch.filter((_, i) => outcome[i])
    const changes = placed.map(item => adoptChange(item.record, item.meta))
    try {
      await c.store.commitLocal(changes)
      for (const item of placed) item.done.resolve()
    } catch (err) {
      for (const item of placed) item.done.reject(err)
    }
  }
}

const MAX_INSTALL_BATCH = 256

/**
 * Moves the losing local version aside under its conflict name, as a new version of ours.
 * Returns the base for installing the winner (our record of `path` is unchanged by this).
 */
async function keepConflictCopy (path: string, conflictPath: string, local: FileRecord, c: ApplierComponents, base: number): Promise<number> {
  return await c.diskLock.run(async () => {
    assertBase(c, path, base)
    if (!(await diskMatchesOwn(c, path))) throw new LocalChangeError(path)
    const from = safeJoin(c.root, path, { leaf: 'any' })
    const to = safeJoin(c.root, conflictPath, { leaf: 'any' })
    if (await statOrUndefined(to) !== undefined) throw new LocalChangeError(conflictPath)
    if (await statOwnPath(c.root, path) === undefined) return base // nothing left to keep
    await rename(from, to)
    const meta = metaOf(await lstat(to, { bigint: true }))
    await c.store.commitLocal([{ path: conflictPath, type: 'file', size: local.size, mode: local.mode, mtimeMs: local.mtimeMs, deleted: false, blocks: local.blocks, meta }])
    c.onConflictCopy?.(path, conflictPath, local)
    return base
  })
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
      const st = await lstat(abs)
      if ((st.mode & 0o777) !== fileMode(record)) await chmod(abs, fileMode(record))
      await utimes(abs, record.mtimeMs / 1000, record.mtimeMs / 1000)
      meta = metaOf(await lstat(abs, { bigint: true }))
    }
    await c.store.commitLocal([adoptChange(record, meta)])
  })
}

/** Removes the file at `path` (ours, as our record says: checked by the caller) into the trash. */
async function removeToTrash (c: ApplierComponents, path: string): Promise<void> {
  if (!(await moveToTrash(c.root, path, c.store.own(path)!.seq))) await unlink(safeJoin(c.root, path, { leaf: 'any' }))
}

async function remove (record: FileRecord, c: ApplierComponents, base: number): Promise<void> {
  await c.diskLock.run(async () => {
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
