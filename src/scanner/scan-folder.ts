import { accessSync, constants as fsConstants, lstatSync } from 'node:fs'
import { lstat } from 'node:fs/promises'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { join } from 'node:path'
import type { Logger } from '@libp2p/logger'
import { contentKey, type BlockRef, type FileRecord } from '../model/file-record.ts'
import { INTERNAL_DIR, parentPath, pathDepth, validatePath } from '../model/paths.ts'
import type { FolderStore } from '../store/folder-store.ts'
import type { LocalChange } from '../store/local-index.ts'
import { readFileBlocks } from '../chunker/file-blocks.ts'
import { MAX_BLOCKS_PER_RECORD } from '../log/record-codec.ts'
import { FerryError } from '../errors.ts'
import { nameProblem, readDirEntries, UNSYNCABLE_NAME } from './unsyncable-name.ts'
import { fileModeOf } from '../model/file-mode.ts'
import { metaOf, sameMeta } from '../model/file-meta.ts'
import { safeJoin, UnsafePathError } from '../disk/safe-path.ts'

export interface ScanOptions {
  root: string
  store: FolderStore
  log: Logger
  /**
   * Commits a batch of changes (stale ones are dropped) and says how many landed; the caller
   * serialises this with the applier.
   */
  commit: (changes: LocalChange[]) => Promise<number | void>
  signal?: AbortSignal
  /** how many changes to collect before committing (peers see them sooner) */
  batchSize?: number
  /**
   * Only look at these folder-relative paths (what the watcher reported) instead of walking
   * everything: a missing path is a delete of it and all below it; a new directory is walked.
   */
  paths?: Iterable<string>
  /** how file content is chunked and hashed (tests count or disturb the reads) */
  readBlocks?: typeof readFileBlocks
  /**
   * Paths the folder's ignore rules exclude: never read, recorded or tombstoned (a record we
   * already hold of such a path is left as it is: see DESIGN.md, Ignore rules).
   */
  ignored?: (path: string, isDir: boolean) => boolean
  /**
   * Given, tombstones are handed here instead of committed: the caller decides when (after
   * checking the root is still there) and whether (mass-delete protection). See folder-guard.ts.
   * The old name of content this scan recorded under a new name (a rename) is still committed
   * with it, in the same batch: receivers then see a rename.
   */
  onTombstone?: (change: LocalChange) => void
}

export interface ScanResult {
  /** entries recorded as new versions */
  changed: number
  /** files that changed while being read: scan again soon */
  unstable: string[]
  files: number
  dirs: number
  /**
   * Paths left as they are because of a problem of their own (unreadable, a name that cannot
   * be synced, not a file or directory); our records of them stay, nothing is tombstoned.
   */
  problems: ScanProblem[]
  /** a partial scan: the paths it looked at (a full scan looked at everything) */
  looked?: string[]
}

export interface ScanProblem { path: string, code: string, reason: string }

/** a file or directory that exists but cannot be read */
export const UNREADABLE = 'ERR_FERRY_UNREADABLE'
/** not a regular file or directory (a symbolic link, a socket, a device...) */
export const NOT_SYNCED_TYPE = 'ERR_FERRY_NOT_SYNCED_TYPE'

class UnreadableFileError extends FerryError {
  constructor (path: string, err: Error) {
    super(`cannot read ${path}: ${err.message}`, UNREADABLE)
  }
}

/** an error of the operating system about one file (EACCES, EIO, ...), not an abort or a bug */
function isFileSystemError (err: unknown): err is NodeJS.ErrnoException {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)
}

const DEFAULT_BATCH_SIZE = 256
/**
 * The walk stats entries and reads small files with blocking calls (a thread-pool round trip
 * per call cost more CPU than the calls themselves, for thousands of small files); it lets the
 * event loop run at least this often.
 */
const MAX_BLOCKING_MS = 5
const DEFAULT_FILE_MODE = 0o644


/**
 * Records what changed since the last scan: new and modified files (re-read only when size,
 * mtime or inode differ), new directories, and tombstones for what is gone. A full scan walks
 * the folder; a partial one (`paths`) looks only where the watcher pointed. A file that changes
 * while it is read is not recorded (reported as unstable).
 */
export async function scanFolder (opts: ScanOptions): Promise<ScanResult> {
  const { root, store, log, signal } = opts
  const batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE
  const read = opts.readBlocks ?? readFileBlocks
  const ignored = opts.ignored ?? (() => false)
  const result: ScanResult = { changed: 0, unstable: [], files: 0, dirs: 0, problems: [] }
  const problem = (path: string, code: string, reason: string): void => {
    log('%s: %s', path, reason)
    result.problems.push({ path, code, reason })
  }
  /** for an entry whose name is not a path: ignore rules get their say all the same */
  const ignoredName = (rel: string, isDir: boolean): boolean => {
    try { return ignored(rel, isDir) } catch { return false }
  }
  const seen = new Set<string>()
  /** directories we could not read: their known content must not be tombstoned */
  const unreadable: string[] = []
  let pending: LocalChange[] = []
  /** content of the files this scan records (a tombstone of the same content is a rename) */
  const recorded = new Set<string>()
  /** paths this scan found to be files (a record below one is of a directory it replaced) */
  const files = new Set<string>()

  const flush = async (): Promise<void> => {
    if (pending.length === 0) return
    const batch = pending
    pending = []
    result.changed += (await opts.commit(batch)) ?? batch.length
  }
  const add = async (c: LocalChange): Promise<void> => {
    if (!c.deleted && c.type === 'file' && c.size > 0) recorded.add(contentKey(c))
    pending.push(c)
    if (pending.length >= batchSize) await flush()
  }

  /** Records a directory unless we hold it already; true when it is new to us. */
  const visitDir = async (path: string, st: BigStats): Promise<boolean> => {
    seen.add(path)
    const own = store.own(path)
    if (own !== undefined && !own.deleted && own.type === 'dir') return false
    await add({ path, type: 'dir', size: 0, mode: Number(st.mode & 0o777n), mtimeMs: Math.max(0, Number(st.mtimeMs)), deleted: false, blocks: [], base: own?.seq ?? 0 })
    return true
  }

  const visitFile = async (path: string, st: BigStats): Promise<void> => {
    let change
    try {
      change = await scanFile(root, path, st, store, read, signal)
    } catch (err) {
      if (!(err instanceof FerryError)) throw err
      // this file is skipped (its record, if any, stays: it is seen); the rest of the scan goes on
      problem(path, err.code, err.message)
      return
    }
    if (change === 'unstable') result.unstable.push(path)
    else if (change !== undefined) await add(change)
  }

  let lastYield = performance.now()
  const yieldSometimes = async (): Promise<void> => {
    if (performance.now() - lastYield < MAX_BLOCKING_MS) return
    await nextTurn()
    lastYield = performance.now()
  }

  const walk = async (dirRel: string): Promise<void> => {
    signal?.throwIfAborted()
    let entries, invalidUtf8
    try {
      ({ entries, invalidUtf8 } = await readDirEntries(dirRel === '' ? root : join(root, dirRel)))
    } catch (err) {
      log.error('cannot read directory %s: %s', dirRel === '' ? root : dirRel, (err as Error).message)
      unreadable.push(dirRel)
      if (dirRel !== '') problem(dirRel, UNREADABLE, `cannot read directory: ${(err as Error).message}`)
      return
    }
    for (const name of invalidUtf8) {
      const rel = dirRel === '' ? name : `${dirRel}/${name}`
      if (!ignoredName(rel, false)) problem(rel, UNSYNCABLE_NAME, 'name is not valid UTF-8')
    }
    for (const entry of entries) {
      if (dirRel === '' && entry.name === INTERNAL_DIR) continue
      const rel = dirRel === '' ? entry.name : `${dirRel}/${entry.name}`
      const why = nameProblem(entry.name, rel)
      if (why !== undefined) {
        if (!ignoredName(rel, entry.isDirectory())) problem(rel, UNSYNCABLE_NAME, why)
        continue
      }
      const path = rel
      await yieldSometimes()
      let st
      try {
        st = lstatSync(join(root, rel), { bigint: true })
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue // vanished since readdir; the next scan records the delete
        // there but not to be looked at (a directory without search permission): keep what we hold
        if (ignoredName(path, entry.isDirectory())) continue
        seen.add(path)
        unreadable.push(path)
        problem(path, UNREADABLE, `cannot look at it: ${(err as Error).message}`)
        continue
      }
      if (ignored(path, st.isDirectory())) continue
      if (st.isDirectory()) {
        result.dirs++
        await visitDir(path, st)
        await walk(path)
      } else if (st.isFile()) {
        seen.add(path)
        files.add(path)
        result.files++
        await visitFile(path, st)
      } else {
        // never followed: nothing outside the folder is read
        problem(path, NOT_SYNCED_TYPE, st.isSymbolicLink() ? 'symbolic link: not synced (never followed)' : 'not a regular file or directory: not synced')
      }
    }
  }

  const tombstone = async (path: string, own: FileRecord, base: number): Promise<void> => {
    if (ignored(path, own.type === 'dir')) return
    const change: LocalChange = { path, type: own.type, size: 0, mode: own.mode, mtimeMs: Date.now(), deleted: true, blocks: [], meta: null, base }
    const renamed = own.type === 'file' && own.size > 0 && recorded.has(contentKey(own))
    // a directory replaced by a file: what was below it goes with the file's record, in the same
    // batch (a file record beside live records below it would be a type conflict, which the
    // directory wins: planner.ts)
    const underFile = [...ancestorsOf(path)].some(a => files.has(a))
    if (opts.onTombstone !== undefined && !renamed && !underFile) opts.onTombstone(change)
    else await add(change)
  }

  if (opts.paths === undefined) {
    // our records as the walk starts: a tombstone is only valid against what the walk saw
    const seqAtStart = new Map([...store.ownRecords()].map(([path, r]) => [path, r.seq]))
    await walk('')
    for (const [path, own] of store.ownRecords()) {
      if (own.deleted || seen.has(path)) continue
      if (unreadable.some(d => d === '' || path === d || path.startsWith(d + '/'))) continue
      await tombstone(path, own, seqAtStart.get(path) ?? 0)
    }
  } else {
    // shallow first, so a new directory is walked once before its children are looked at
    const targets = [...new Set(opts.paths)].sort((a, b) => pathDepth(a) - pathDepth(b))
    const gone: Array<[string, FileRecord]> = []
    result.looked = targets
    for (const rel of targets) {
      if (seen.has(rel)) continue
      // a bad name the watcher reported (the full scan says the same of it; a bad parent is
      // reported itself)
      const parent = parentPath(rel)
      if (parent !== '' && !validPath(parent)) continue
      const why = nameProblem(rel.slice(parent === '' ? 0 : parent.length + 1), rel)
      if (why !== undefined) {
        let there
        try { there = lstatSync(join(root, rel), { throwIfNoEntry: false }) } catch { there = undefined }
        if (there !== undefined && !ignoredName(rel, there.isDirectory())) problem(rel, UNSYNCABLE_NAME, why)
        continue
      }
      const path = rel
      // what we hold there, as we look at the disk: the lstat is a blocking call, so the applier
      // cannot act in between (a tombstone then fails its base check instead of deleting what
      // the applier installs later). The watcher reports every file the applier installs: this
      // is the whole cost of that echo, so it is kept to one cheap system call per path.
      await yieldSometimes()
      const here = store.own(path)
      let st
      // (a path below a link, or below a file, is not there as far as the folder goes: safe-path.ts)
      try {
        st = lstatSync(safeJoin(root, path, { leaf: 'any' }), { bigint: true, throwIfNoEntry: false })
      } catch (err) {
        if (err instanceof UnsafePathError) {
          st = undefined
        } else {
          // there but not to be looked at: what we hold of it stays
          if (!ignoredName(path, here?.type === 'dir')) problem(path, UNREADABLE, `cannot look at it: ${(err as Error).message}`)
          continue
        }
      }
      const before = new Map<string, FileRecord>()
      if (here !== undefined && !here.deleted) {
        before.set(path, here)
        // what was below a directory matters only when it is gone or became a file
        if (here.type === 'dir' && st?.isDirectory() !== true) for (const [p, r] of store.ownRecords()) if (!r.deleted && p.startsWith(path + '/')) before.set(p, r)
      }
      if (ignored(path, st?.isDirectory() ?? here?.type === 'dir')) continue
      if (st === undefined) {
        for (const [p, r] of before) {
          seen.add(p)
          gone.push([p, r])
        }
      } else if (st.isDirectory()) {
        // a directory we did not know: walk it (its content may predate the watch)
        if (await visitDir(path, st)) await walk(path)
      } else if (st.isFile()) {
        seen.add(path)
        files.add(path)
        // a directory replaced by a file: what was below it is gone
        for (const [p, r] of before) {
          if (p === path) continue
          seen.add(p)
          gone.push([p, r])
        }
        await visitFile(path, st)
      } else {
        problem(path, NOT_SYNCED_TYPE, st.isSymbolicLink() ? 'symbolic link: not synced' : 'not a regular file or directory: not synced')
      }
    }
    // after what exists was looked at: a moved file is recognised while its old name's scan
    // cache still stands
    for (const [p, r] of gone) await tombstone(p, r, r.seq)
  }
  await flush()
  return result
}

function validPath (path: string): boolean {
  try { return validatePath(path) === path } catch { return false }
}

type BigStats = Awaited<ReturnType<typeof statBig>>
async function statBig (path: string) { return lstat(path, { bigint: true }) }
/** files this small are stat'ed again with a blocking call after reading (see MAX_BLOCKING_MS) */
const SYNC_STAT_BYTES = 64 * 1024

async function scanFile (root: string, path: string, st: BigStats, store: FolderStore, read: typeof readFileBlocks, signal?: AbortSignal): Promise<LocalChange | 'unstable' | undefined> {
  const meta = metaOf(st)
  const own = store.own(path)
  const live = own !== undefined && !own.deleted && own.type === 'file'
  if (live && sameMeta(store.meta(path), meta)) {
    // unchanged, but made unreadable (chmod 000): said so, its record stays. Only checked when
    // the owner may not read it: a system call per unchanged file would double a rescan's cost
    if ((meta.mode & 0o400) === 0) {
      try { accessSync(join(root, path), fsConstants.R_OK) } catch (err) { if (isFileSystemError(err) && err.code !== 'ENOENT') throw new UnreadableFileError(path, err) }
    }
    if (fileModeOf(own.mode) === meta.mode) return undefined
    // only the permission bits changed: same blocks, new version
    return { path, type: 'file', size: own.size, mode: meta.mode, mtimeMs: own.mtimeMs, deleted: false, blocks: own.blocks, meta, base: own.seq }
  }
  // a file we know under another name (renamed or moved here): same inode, size and mtime
  const moved = store.sameFileAs(meta)
  if (moved !== undefined && moved.path !== path) {
    return { path, type: 'file', size: moved.size, mode: meta.mode === 0 ? DEFAULT_FILE_MODE : meta.mode, mtimeMs: moved.mtimeMs, deleted: false, blocks: moved.blocks, meta, base: own?.seq ?? 0 }
  }
  const abs = join(root, path)
  const blocks: BlockRef[] = []
  let size = 0
  try {
    for await (const b of read(abs, { sizeHint: Number(st.size), ...(signal === undefined ? {} : { signal }) })) {
      blocks.push({ cid: b.cid, size: b.size })
      size += b.size
    }
  } catch (err) {
    // gone, or replaced by a link since the lstat (opened with O_NOFOLLOW: ELOOP)
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ELOOP') return undefined
    // (EACCES, EPERM, EIO...): this file is not read; what we hold of it stays
    if (isFileSystemError(err)) throw new UnreadableFileError(path, err)
    throw err
  }
  if (blocks.length > MAX_BLOCKS_PER_RECORD) {
    throw new FerryError(`${path} has more blocks (${blocks.length}) than a record can carry (${MAX_BLOCKS_PER_RECORD}); not synced`, 'ERR_FERRY_FILE_TOO_LARGE')
  }
  let after
  try { after = metaOf(size <= SYNC_STAT_BYTES ? lstatSync(abs, { bigint: true }) : await statBig(abs)) } catch { return undefined }
  if (!sameMeta(after, meta) || size !== meta.size) return 'unstable'
  if (live && own.size === size && own.blocks.length === blocks.length &&
      own.blocks.every((b, i) => b.cid.equals(blocks[i]!.cid)) && fileModeOf(own.mode) === meta.mode) {
    // touched but identical (or our own write): remember the new stat, keep the version
    await store.setMeta(path, meta)
    return undefined
  }
  return {
    path,
    type: 'file',
    size,
    mode: meta.mode === 0 ? DEFAULT_FILE_MODE : meta.mode,
    // records carry no negative times: a file from before 1970 is recorded at the epoch
    mtimeMs: Math.max(0, Math.floor(Number(BigInt(meta.mtimeNs) / 1_000_000n))),
    deleted: false,
    blocks,
    meta,
    base: own?.seq ?? 0
  }
}

/** the ancestors of a folder-relative path, nearest first */
function * ancestorsOf (path: string): Generator<string> {
  for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) yield path.slice(0, i)
}
