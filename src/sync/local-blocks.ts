import { open, type FileHandle } from 'node:fs/promises'
import { O_RDONLY_NOFOLLOW, safeJoin } from '../disk/safe-path.ts'
import type { CID } from 'multiformats/cid'
import type { FolderStore } from '../store/folder-store.ts'
import { blockMatches } from '../hashing/block-cid.ts'
import { writeBlockBytes, type BlockBytes } from '../../protocols/blocks/index.ts'

/**
 * Bytes of a file's blocks being written at once. A kill loses what is received but not yet
 * written: this, plus the block each stream holds while it waits for room (typically 256 KiB),
 * so a restarted download fetches again well under the 2 MiB the issue allows. 4 MiB was ~3%
 * faster in S1 and lost up to 6 MiB.
 */
const MAX_PENDING_WRITE_BYTES = 1024 * 1024

/**
 * Bytes written between two background `fdatasync`s of a file being assembled. The kernel keeps
 * up to 10% of RAM dirty before it starts writing back on its own, so without them the fsync
 * before the rename found the whole file in the page cache: ~1.2 s of a 1 GiB sync (a fifth of
 * S1) waited for the disk with both devices idle. Each one runs on the thread pool while the
 * next blocks arrive; the final fsync then has at most this much (plus one flush in flight).
 */
export const DATASYNC_EVERY_BYTES = 32 * 1024 * 1024

/**
 * Positional writes that run while the next blocks arrive (each write is a thread-pool round
 * trip; awaiting it per block stalls the stream behind a busy event loop). `write` waits only
 * when too many bytes are pending; the first failure is thrown by the next call or `flush`.
 * Every DATASYNC_EVERY_BYTES written, a `datasync` of what is written so far starts in the
 * background (never more than one at a time); its failure counts like a write's (Linux reports
 * a writeback error to one fsync only, so it must not be left for the final one to miss).
 */
export class WriteBehind {
  private readonly fh: FileHandle
  private readonly pending = new Set<Promise<void>>()
  private pendingBytes = 0
  private failure: unknown
  private unsyncedBytes = 0
  private syncing: Promise<void> | undefined

  constructor (fh: FileHandle) {
    this.fh = fh
  }

  /** `written`: called once the write is done (or failed), when `data` may be reused */
  async write (data: BlockBytes, at: number, written?: () => void): Promise<void> {
    while (this.pendingBytes + data.byteLength > MAX_PENDING_WRITE_BYTES && this.pending.size > 0) await Promise.race(this.pending)
    this.throwIfFailed()
    this.pendingBytes += data.byteLength
    const p: Promise<void> = writeBlockBytes(this.fh, data, at).then(() => { this.wrote(data.byteLength) }, err => { this.failure ??= err }).finally(() => {
      this.pending.delete(p)
      this.pendingBytes -= data.byteLength
      written?.()
    })
    this.pending.add(p)
  }

  /** waits for every write and background datasync; throws the first failure */
  async flush (): Promise<void> {
    while (this.pending.size > 0) await Promise.race(this.pending)
    await this.syncing
    this.throwIfFailed()
  }

  private wrote (bytes: number): void {
    this.unsyncedBytes += bytes
    if (this.unsyncedBytes < DATASYNC_EVERY_BYTES || this.syncing !== undefined || this.failure !== undefined) return
    this.unsyncedBytes = 0
    this.syncing = this.fh.datasync().catch(err => { this.failure ??= err }).finally(() => { this.syncing = undefined })
  }

  private throwIfFailed (): void {
    if (this.failure !== undefined) throw this.failure
  }
}

/** Files opened to copy blocks from, kept open for the duration of one file's assembly. */
export class LocalFiles {
  private readonly root: string
  private readonly open = new Map<string, Promise<FileHandle>>()

  constructor (root: string) {
    this.root = root
  }

  async handle (path: string): Promise<FileHandle> {
    let h = this.open.get(path)
    if (h === undefined) {
      // never through a link, in the path or at its end (safe-path.ts)
      h = (async () => await open(safeJoin(this.root, path), O_RDONLY_NOFOLLOW))()
      this.open.set(path, h)
      h.catch(() => { this.open.delete(path) })
    }
    return await h
  }

  async close (): Promise<void> {
    const all = [...this.open.values()]
    this.open.clear()
    await Promise.all(all.map(async h => { await (await h).close() }).map(async p => await p.catch(() => {})))
  }
}

/**
 * Buffers for blocks copied from local files, handed back once written: a file rebuilt from its
 * old version (a byte inserted at its start) copies every block, and a new buffer per block was
 * external memory V8 answered with a full collection every ~60 MiB. The writes in flight bound
 * how many are out at once (MAX_PENDING_WRITE_BYTES); a few are kept for reuse.
 */
export class BlockBuffers {
  private readonly free: Uint8Array[] = []

  /** a buffer of at least `size` bytes */
  take (size: number): Uint8Array {
    const i = this.free.findIndex(b => b.byteLength >= size)
    if (i >= 0) return this.free.splice(i, 1)[0]!
    // a power of two: blocks vary in size, and the next one fits a buffer of the same class
    return new Uint8Array(2 ** Math.ceil(Math.log2(Math.max(size, 1))))
  }

  give (buf: Uint8Array): void {
    if (this.free.length < KEPT_BLOCK_BUFFERS) this.free.push(buf)
  }
}
const KEPT_BLOCK_BUFFERS = 8

/** the first `size` bytes of `into` when it has them, else a new buffer (a block read into a reused buffer) */
export const bufferFor = (size: number, into: Uint8Array | undefined): Uint8Array =>
  into !== undefined && into.byteLength >= size ? into.subarray(0, size) : Buffer.allocUnsafe(size)

/**
 * Reads `cid` from wherever our own files hold it, verifying the bytes (files change). `into`:
 * read into its start when it is big enough.
 */
export async function readLocalBlock (c: { root: string, store: Pick<FolderStore, 'blockLocations'> }, cid: CID, size: number, files?: LocalFiles, into?: Uint8Array): Promise<Uint8Array | undefined> {
  const own = files ?? new LocalFiles(c.root)
  try {
    for (const loc of c.store.blockLocations(cid)) {
      if (loc.size !== size) continue
      try {
        const fh = await own.handle(loc.path)
        const buf = bufferFor(size, into)
        const { bytesRead } = await fh.read(buf, 0, size, loc.offset)
        if (bytesRead === size && blockMatches(cid, buf)) return buf
      } catch {
        // moved or unreadable: try the next location
      }
    }
    return undefined
  } finally {
    if (files === undefined) await own.close()
  }
}
