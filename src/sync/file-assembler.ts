import { fsync, futimesSync, fchmodSync, fstatSync, renameSync, writeSync } from 'node:fs'
import { chmod, constants, open, rename, type FileHandle } from 'node:fs/promises'
import { relative } from 'node:path'
import type { CID } from 'multiformats/cid'
import { blockOffsets, type FileRecord } from '../model/file-record.ts'
import { fileModeOf } from '../model/file-mode.ts'
import { metaOf, type FileMeta } from '../model/file-meta.ts'
import type { FolderStore } from '../store/folder-store.ts'
import { blockMatches, cidKey } from '../hashing/block-cid.ts'
import type { BlockBytes, WantedBlock } from '../../protocols/blocks/index.ts'
import { blockParts } from '../../protocols/blocks/block-bytes.ts'
import type { FetchBlocks } from './applier-components.ts'
import type { TransferProgress } from './transfer-progress.ts'
import type { Reservation } from './free-space.ts'
import { makeTempDir } from './temp-area.ts'
import { BlockBuffers, LocalFiles, readLocalBlock, WriteBehind } from './local-blocks.ts'
import { O_NOFOLLOW, parentOf, safeJoin, safeMkdirParent } from '../disk/safe-path.ts'
import { statOrUndefined } from './disk-state.ts'

// Builds a file from blocks in a temp file (the one way ferry writes a file's content: the
// applier's installs, restore, revert): blocks from local files (verified), then fetched from
// peers (verified by the blocks protocol), the record's permission bits (and mtime), one fsync.
// The caller checks the target under its disk lock and renames the temp file into place
// (renameIntoPlace): the real name never shows a partial file.

/**
 * Files up to this size are assembled in memory and written, fsynced and stat'ed in one go, with
 * blocking calls except the fsync (which waits for the disk, on the thread pool): for thousands
 * of small files, the CPU cost of a thread-pool round trip per open/write/utimes/stat/close was
 * most of the receiver's work. Nothing is resumed from an older temp file of such a size: it is
 * overwritten (fetching a few KiB again is cheaper than checking them).
 */
export const SMALL_FILE_BYTES = 64 * 1024

export interface AssemblerComponents {
  root: string
  /** where local copies of blocks are (blockLocations), read and verified before use */
  store: Pick<FolderStore, 'blockLocations'>
  fetchBlocks: FetchBlocks
  /** files being assembled, for status and progress lines */
  progress?: TransferProgress
}

/** where the bytes of a block came from */
export type BlockOrigin = 'first' | 'local' | 'peers'

export interface AssembleOptions {
  record: FileRecord
  /** the temp file (absolute, under the temp area: temp-area.ts); kept on failure, it is the progress */
  tmp: string
  /** offsets the temp file is known to hold the record's blocks at (a rename source, a clone: temp-reuse.ts) */
  inPlace?: ReadonlySet<number>
  /** read before local files and peers (restore: the trash); undefined when it has no verified copy */
  readFirst?: (cid: CID, size: number, at: number) => Promise<Uint8Array | undefined>
  /** counts the bytes each source gave */
  onBlock?: (origin: BlockOrigin, bytes: number) => void
  /** give the file the record's mtime (default); false: the time it was written */
  setMtime?: boolean
  /** the download's free-space reservation (free-space.ts) */
  space?: Reservation
  signal?: AbortSignal
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
 * Builds `record` in the temp file (blocks already in it from an interrupted attempt are kept,
 * blocks found in local files are copied, the rest fetched), sets its bits and mtime and fsyncs
 * it; returns its stat for the scan cache (a rename keeps inode, size, mtime and mode). After a
 * crash or a lost peer, only what the temp file lacks is fetched again.
 */
export async function assembleFile (c: AssemblerComponents, o: AssembleOptions): Promise<FileMeta> {
  const { record, tmp, signal } = o
  const inPlace = o.inPlace ?? new Set<number>()
  const mode = fileModeOf(record.mode)
  const { fh, resumed } = await openTemp(c.root, tmp)
  c.progress?.start(record.path, record.size)
  const writes = new WriteBehind(fh)
  const files = new LocalFiles(c.root)
  try {
    const offsets = blockOffsets(record)
    // a new temp file needs no size: the blocks tile the file, the last write sets its length
    if (resumed) await fh.truncate(record.size)
    /** `written`: once every copy of it is written (the buffer may be reused) */
    const writeBlock = async (cid: CID, data: BlockBytes, written?: () => void): Promise<void> => {
      const at = offsets.get(cidKey(cid))?.at ?? []
      let left = at.length
      if (left === 0) written?.()
      for (const offset of at) {
        await writes.write(data, offset, written === undefined ? undefined : () => { if (--left === 0) written() })
        o.space?.wrote(data.byteLength)
        c.progress?.add(record.path, data.byteLength)
      }
    }
    const buffers = new BlockBuffers()
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
      const first = await o.readFirst?.(cid, size, at[0]!)
      if (first !== undefined) {
        o.onBlock?.('first', size)
        await writeBlock(cid, first)
        continue
      }
      const buf = buffers.take(size)
      const data = await readLocalBlock(c, cid, size, files, buf)
      if (data !== undefined) {
        o.onBlock?.('local', size)
        await writeBlock(cid, data, data.buffer === buf.buffer ? () => { buffers.give(buf) } : undefined)
      } else {
        buffers.give(buf)
        wanted.push({ cid, size })
      }
    }
    if (wanted.length > 0) {
      await c.fetchBlocks(record, wanted, async (cid, data) => {
        o.onBlock?.('peers', data.byteLength)
        await writeBlock(cid, data)
      }, signal)
    }
    await writes.flush()
    await fh.chmod(mode) // exactly the record's bits, whatever the umask or the temp file's were
    if (o.setMtime !== false) await fh.utimes(record.mtimeMs / 1000, record.mtimeMs / 1000)
    await fh.sync() // content, size, mode and times durable before the rename
    return metaOf(await fh.stat({ bigint: true }))
  } finally {
    // on failure the temp file stays: it is the progress the next attempt resumes from
    await writes.flush().catch(() => {})
    await files.close()
    await fh.close()
    c.progress?.end(record.path)
  }
}

/**
 * Builds a file of at most SMALL_FILE_BYTES in memory and writes, chmods, sets the mtime of,
 * fsyncs and stats its temp file in one go (an older temp file is overwritten).
 */
export async function assembleSmallFile (c: AssemblerComponents, o: AssembleOptions): Promise<FileMeta> {
  const { record, tmp, signal } = o
  const data = new Uint8Array(record.size)
  const offsets = blockOffsets(record)
  c.progress?.start(record.path, record.size)
  try {
    const place = (cid: CID, bytes: BlockBytes): void => {
      for (const at of offsets.get(cidKey(cid))?.at ?? []) {
        let p = at
        for (const part of blockParts(bytes)) { data.set(part, p); p += part.byteLength }
        c.progress?.add(record.path, bytes.byteLength)
      }
    }
    const wanted: WantedBlock[] = []
    for (const { cid, size, at } of offsets.values()) {
      signal?.throwIfAborted()
      const first = await o.readFirst?.(cid, size, at[0]!)
      const local = first ?? (c.store.blockLocations(cid).length > 0 ? await readLocalBlock(c, cid, size) : undefined)
      if (local !== undefined) {
        o.onBlock?.(first !== undefined ? 'first' : 'local', size)
        place(cid, local)
      } else {
        wanted.push({ cid, size })
      }
    }
    if (wanted.length > 0) {
      await c.fetchBlocks(record, wanted, async (cid, bytes) => {
        o.onBlock?.('peers', bytes.byteLength)
        place(cid, bytes)
      }, signal)
    }
    const mode = fileModeOf(record.mode)
    // the open stays on the thread pool: creating a file is the one costly call here (the
    // file system's inode allocation), and it runs there beside the event loop
    const fh = await openTempFile(c.root, tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | O_NOFOLLOW)
    const fd = fh.fd
    try {
      let done = 0
      while (done < data.byteLength) done += writeSync(fd, data, done, data.byteLength - done, done)
      if ((fstatSync(fd).mode & 0o777) !== mode) fchmodSync(fd, mode) // exactly the record's bits
      if (o.setMtime !== false) futimesSync(fd, record.mtimeMs / 1000, record.mtimeMs / 1000)
      await new Promise<void>((resolve, reject) => { fsync(fd, err => { if (err === null) resolve(); else reject(err) }) })
      return metaOf(fstatSync(fd, { bigint: true }))
    } finally {
      await fh.close()
    }
  } finally {
    c.progress?.end(record.path)
  }
}

/**
 * Renames a finished temp file over `target.path` (folder-relative; `target.abs` is its checked
 * absolute path, safe-path.ts): one atomic rename, with blocking calls (a few microseconds). A
 * missing parent directory is made (checked) and the rename tried again.
 */
export async function renameIntoPlace (root: string, tmp: string, target: { path: string, abs: string }): Promise<void> {
  try {
    renameSync(tmp, target.abs)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || await statOrUndefined(tmp) === undefined) throw err
    await safeMkdirParent(root, target.path)
    await rename(tmp, safeJoin(root, target.path, { leaf: 'any' }))
  }
}
