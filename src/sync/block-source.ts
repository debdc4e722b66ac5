import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { O_RDONLY_NOFOLLOW, safeJoin } from '../disk/safe-path.ts'
import type { CID } from 'multiformats/cid'
import { blockMatches } from '../hashing/block-cid.ts'
import { bufferFor } from './local-blocks.ts'
import type { FolderStore } from '../store/folder-store.ts'
import type { LocalMeta } from '../store/local-meta.ts'

/** files kept open for serving blocks (a big file is read block after block) */
const MAX_OPEN = 16
/** an unused handle is closed after this long, so a deleted file's space is not held */
const IDLE_CLOSE_MS = 5_000
/**
 * A small file not open already is read with blocking open/read/fstat/close (microseconds each
 * from the page cache), not four thread-pool round trips that cost more CPU than the reads:
 * serving 10,000 small files was mostly that.
 */
const SYNC_READ_MAX_FILE_BYTES = 64 * 1024

interface OpenFile {
  fh: FileHandle
  users: number
  lastUsed: number
  closing: boolean
}

const sameMeta = (m: LocalMeta | undefined, st: { ino: bigint, size: bigint, mtimeNs: bigint }): boolean =>
  m !== undefined && m.ino === Number(st.ino) && m.size === Number(st.size) && m.mtimeNs === st.mtimeNs.toString()

/**
 * Reads the blocks of our own files that peers ask for. A block is read from a cached file handle
 * and sent without re-hashing when the file's inode, size and mtime after the read are still
 * what the scanner recorded when it hashed the file: the same evidence the scanner itself trusts
 * to skip re-reading a file (and the receiver verifies every block anyway). A file that changed
 * since its scan is read and hash-checked block by block, as a copy between local files is.
 */
export class LocalBlockSource {
  private readonly root: string
  private readonly store: FolderStore
  private readonly files = new Map<string, OpenFile>()
  private readonly timer: NodeJS.Timeout

  constructor (root: string, store: FolderStore) {
    this.root = root
    this.store = store
    this.timer = setInterval(() => { this.closeIdle(Date.now() - IDLE_CLOSE_MS) }, IDLE_CLOSE_MS)
    this.timer.unref()
  }

  /**
   * The bytes of `cid`, or undefined when no local file holds it any more. `into`: read into its
   * start when it is big enough (a caller that reuses one buffer for block after block), else into
   * a new buffer.
   */
  async read (cid: CID, into?: Uint8Array): Promise<Uint8Array | undefined> {
    for (const loc of this.store.blockLocations(cid)) {
      const data = await this.readAt(loc.path, loc.offset, loc.size, cid, into).catch(() => undefined)
      if (data !== undefined) return data
    }
    return undefined
  }

  private async readAt (path: string, offset: number, size: number, cid: CID, into?: Uint8Array): Promise<Uint8Array | undefined> {
    if (!this.files.has(path) && (this.store.meta(path)?.size ?? Infinity) <= SYNC_READ_MAX_FILE_BYTES) return this.readSmallAt(path, offset, size, cid, into)
    const f = await this.acquire(path)
    try {
      const buf = bufferFor(size, into)
      const { bytesRead } = await f.fh.read(buf, 0, size, offset)
      if (bytesRead !== size) return undefined
      const after = await f.fh.stat({ bigint: true })
      if (sameMeta(this.store.meta(path), after)) return buf
      // changed since it was scanned (or replaced: this handle may name the old inode): reopen
      // next time; this block may still be intact
      this.retire(path, f)
      return blockMatches(cid, buf) ? buf : undefined
    } finally {
      f.users--
      f.lastUsed = Date.now()
      if (f.closing && f.users === 0) void f.fh.close().catch(() => {})
    }
  }

  /** readAt for a small file, with blocking calls (see SYNC_READ_MAX_FILE_BYTES) */
  private readSmallAt (path: string, offset: number, size: number, cid: CID, into?: Uint8Array): Uint8Array | undefined {
    const fd = openSync(safeJoin(this.root, path), O_RDONLY_NOFOLLOW) // never through a link (safe-path.ts)
    try {
      const buf = bufferFor(size, into)
      if (readSync(fd, buf, 0, size, offset) !== size) return undefined
      if (sameMeta(this.store.meta(path), fstatSync(fd, { bigint: true }))) return buf
      return blockMatches(cid, buf) ? buf : undefined
    } finally {
      closeSync(fd)
    }
  }

  private retire (path: string, f: OpenFile): void {
    if (this.files.get(path) === f) this.files.delete(path)
    f.closing = true
  }

  private async acquire (path: string): Promise<OpenFile> {
    const cached = this.files.get(path)
    if (cached !== undefined && !cached.closing) {
      cached.users++
      return cached
    }
    const fh = await open(safeJoin(this.root, path), O_RDONLY_NOFOLLOW) // never through a link (safe-path.ts)
    const raced = this.files.get(path)
    if (raced !== undefined && !raced.closing) {
      await fh.close()
      raced.users++
      return raced
    }
    const f: OpenFile = { fh, users: 1, lastUsed: Date.now(), closing: false }
    this.files.set(path, f)
    if (this.files.size > MAX_OPEN) this.closeIdle(Infinity, this.files.size - MAX_OPEN)
    return f
  }

  /** Closes unused handles last used before `before` (oldest first, at most `max`). */
  private closeIdle (before: number, max = Infinity): void {
    const idle = [...this.files].filter(([, f]) => f.users === 0 && f.lastUsed < before).sort((a, b) => a[1].lastUsed - b[1].lastUsed)
    for (const [path, f] of idle.slice(0, max)) {
      this.retire(path, f)
      void f.fh.close().catch(() => {})
    }
  }

  async close (): Promise<void> {
    clearInterval(this.timer)
    const all = [...this.files].filter(([, f]) => f.users === 0)
    for (const [path, f] of all) this.retire(path, f)
    await Promise.all(all.map(async ([, f]) => { await f.fh.close().catch(() => {}) }))
  }
}
