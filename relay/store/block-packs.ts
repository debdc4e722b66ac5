import { mkdir, open, readdir, stat, unlink, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import type { AbstractSublevel } from 'abstract-level'
import { CID } from 'multiformats/cid'
import { blockMatches, cidKey, decodeBlockCid } from '../../src/hashing/block-cid.ts'
import { AsyncLock } from '../../src/store/async-lock.ts'
import { fsyncDir } from './dir-sync.ts'
import { GroupCommit } from './group-commit.ts'

/** a pack is closed to new blocks once it holds this many bytes */
export const DEFAULT_PACK_BYTES = 256 * 1024 * 1024
/** a closed pack whose live blocks hold less than this share of the pack size is rewritten */
export const COMPACT_LIVE_SHARE = 0.5
/** read handles of closed packs kept open */
const MAX_OPEN_PACKS = 32

const MAGIC = 0x46425031 // 'FBP1'
const HEADER_BYTES = 12

/** where a packed block's bytes are, and when it was last stored or reported held */
export interface PackedBlock { cid: CID, pack: number, offset: number, size: number, touchedMs: number }

type Index = AbstractSublevel<any, any, string, string> // eslint-disable-line @typescript-eslint/no-explicit-any

interface Pack { n: number, fh: FileHandle, end: number }
interface Reader { fh: Promise<FileHandle>, users: number, closing: boolean }
interface Placed { key: string, value: string }

const SYNC = { sync: true } as Record<string, unknown>

/**
 * Blocks appended to pack files (`<root>/<n>.pack`), found through an index in the relay's
 * database (`<cid>` -> `<pack> <offset> <size> <touched ms>`). A file per block cost the relay's
 * kernel more than a third of a millisecond per block (inode, directory entry, journal), and an
 * fsync each; packed, concurrent puts share one fdatasync of the pack and one synced index batch.
 *
 * Each block in a pack is `FBP1`, its cid's length and its size (u32 big-endian each), the cid,
 * then the bytes: a pack describes itself (tests and a scrub can read it without the index).
 * A block is visible (`has`, `get`) only once its index entry is written, and that happens only
 * after the pack holding its bytes was fdatasynced, so an acknowledged block survives a crash and
 * a half-appended one is never visible. Appends go to a pack opened by this run, never to one a
 * crash may have left with a torn tail. Deleted blocks leave dead bytes until `compact` rewrites
 * the live blocks of a mostly dead pack into the current one and removes it.
 */
export class BlockPacks {
  readonly root: string
  private readonly index: Index
  private readonly packBytes: number
  private last = 0
  /** the pack being written (or made) */
  private current = 0
  private compacting = false
  private writable?: Promise<Pack>
  private readonly readers = new Map<number, Reader>()
  private placed: Placed[] = []
  private packsToSync = new Set<Pack>()
  /** writes appended to each pack whose entries are not yet written (or given up) */
  private readonly pending = new Map<number, number>()
  private readonly commit = new GroupCommit(async () => { await this.flush() })
  /** moves, deletes and touches of index entries that exist, one at a time */
  private readonly moves = new AsyncLock()

  constructor (root: string, index: Index, opts: { packBytes?: number } = {}) {
    this.root = root
    this.index = index
    this.packBytes = opts.packBytes ?? DEFAULT_PACK_BYTES
  }

  async open (): Promise<void> {
    await mkdir(this.root, { recursive: true })
    for (const name of await readdir(this.root)) {
      const m = /^(\d+)\.pack$/.exec(name)
      if (m !== null) this.last = Math.max(this.last, Number(m[1]))
    }
  }

  async close (): Promise<void> {
    await this.writable?.catch(() => undefined)
    this.writable = undefined
    for (const [n, r] of this.readers) {
      this.readers.delete(n)
      await (await r.fh.catch(() => undefined))?.close().catch(() => {})
    }
  }

  pathOf (pack: number): string {
    return join(this.root, `${pack}.pack`)
  }

  async locate (cid: CID): Promise<PackedBlock | undefined> {
    const value = await this.index.get(cidKey(cid))
    return value === undefined ? undefined : parseEntry(cid, value)
  }

  /**
   * Appends `data` (already checked against `cid`) and makes it visible under `cid`; resolves
   * once bytes and index entry are durable: one flush syncs the pack and then writes the entry.
   * `beforePlace` runs first (what it writes may name a block not yet there; never the reverse).
   */
  async put (cid: CID, data: Uint8Array, beforePlace?: () => Promise<void>): Promise<void> {
    await beforePlace?.()
    const at = await this.write(cid, data)
    try {
      this.placed.push({ key: cidKey(cid), value: entryValue(at.pack.n, at.offset, data.byteLength, Date.now()) })
      await this.commit.join()
    } finally {
      this.settle(at.pack.n)
    }
  }

  /**
   * Appends a block to the pack being written; the pack is synced by the next flush. The pack
   * counts the write as pending until the caller `settle`s it: a compaction leaves a pack with
   * pending writes alone (entries for it are still to come).
   */
  private async write (cid: CID, data: Uint8Array): Promise<{ pack: Pack, offset: number }> {
    const cidBytes = cid.bytes
    const header = new Uint8Array(HEADER_BYTES + cidBytes.byteLength)
    const view = new DataView(header.buffer)
    view.setUint32(0, MAGIC)
    view.setUint32(4, cidBytes.byteLength)
    view.setUint32(8, data.byteLength)
    header.set(cidBytes, HEADER_BYTES)
    const length = header.byteLength + data.byteLength
    const { pack, at } = await this.place(length)
    try {
      const { bytesWritten } = await pack.fh.writev([header, data], at)
      if (bytesWritten !== length) throw new Error(`short write to ${this.pathOf(pack.n)}`)
    } catch (err) {
      this.settle(pack.n)
      throw err
    }
    this.packsToSync.add(pack)
    return { pack, offset: at + header.byteLength }
  }

  private settle (n: number): void {
    const left = (this.pending.get(n) ?? 1) - 1
    if (left > 0) this.pending.set(n, left)
    else this.pending.delete(n)
  }

  /** syncs every pack appended to and writes every entry waiting, in one synced batch */
  private async flush (): Promise<void> {
    const packs = [...this.packsToSync]
    this.packsToSync = new Set()
    const placed = this.placed
    this.placed = []
    await Promise.all(packs.map(async p => { await p.fh.datasync() }))
    if (placed.length > 0) await this.index.batch(placed.map(p => ({ type: 'put' as const, key: p.key, value: p.value })), SYNC)
  }

  /** room for `bytes` at the end of the pack being written (a new pack when it is full) */
  private async place (bytes: number): Promise<{ pack: Pack, at: number }> {
    while (true) {
      const p = this.writable ?? this.newPack()
      this.writable = p
      let pack: Pack
      try {
        pack = await p
      } catch (err) {
        if (this.writable === p) this.writable = undefined // the next put tries a new pack
        throw err
      }
      if (pack.end === 0 || pack.end + bytes <= this.packBytes) {
        const at = pack.end
        pack.end += bytes
        this.pending.set(pack.n, (this.pending.get(pack.n) ?? 0) + 1) // in the same step as the room
        return { pack, at }
      }
      if (this.writable === p) this.writable = this.newPack()
    }
  }

  private async newPack (): Promise<Pack> {
    const n = ++this.last
    // current from the start: a compaction must not take the new, empty pack for a dead one
    this.current = n
    const fh = await open(this.pathOf(n), 'wx+', 0o600)
    await fsyncDir(this.root) // its name is durable before any entry points into it
    // read through the same handle; it stays open for reads after the next pack takes over
    this.readers.set(n, { fh: Promise.resolve(fh), users: 0, closing: false })
    return { n, fh, end: 0 }
  }

  /** The bytes at `b`, unchecked; undefined when its pack is gone (moved by a compaction). */
  async readAt (b: PackedBlock): Promise<Uint8Array | undefined> {
    const r = this.reader(b.pack)
    r.users++
    try {
      const fh = await r.fh
      const buf = new Uint8Array(b.size)
      const { bytesRead } = await fh.read(buf, 0, b.size, b.offset)
      return bytesRead === b.size ? buf : undefined
    } catch {
      return undefined
    } finally {
      r.users--
      if (r.closing && r.users === 0) closeReader(r)
    }
  }

  private reader (n: number): Reader {
    let r = this.readers.get(n)
    if (r === undefined || r.closing) {
      r = { fh: open(this.pathOf(n), 'r'), users: 0, closing: false }
      r.fh.catch(() => {})
      this.readers.set(n, r)
      this.trimReaders()
    }
    return r
  }

  private trimReaders (): void {
    for (const [n, r] of this.readers) {
      if (this.readers.size <= MAX_OPEN_PACKS) return
      if (r.users === 0 && n !== this.current) this.retireReader(n)
    }
  }

  private retireReader (n: number): void {
    const r = this.readers.get(n)
    if (r === undefined) return
    this.readers.delete(n)
    r.closing = true
    if (r.users === 0) closeReader(r)
  }

  /** the verified bytes of `cid` if packed; `damaged` when they do not match */
  async get (cid: CID): Promise<Uint8Array | 'damaged' | undefined> {
    const got = await this.read(cid)
    return got === 'unreadable' ? undefined : got
  }

  /** whether `cid` is packed, and its bytes can be read and match it */
  async check (cid: CID): Promise<'ok' | 'damaged' | 'unreadable' | 'missing'> {
    const got = await this.read(cid)
    return got === undefined ? 'missing' : got instanceof Uint8Array ? 'ok' : got
  }

  private async read (cid: CID): Promise<Uint8Array | 'damaged' | 'unreadable' | undefined> {
    // a compaction may move the block between the lookup and the read: look again once
    for (let attempt = 0; attempt < 2; attempt++) {
      const b = await this.locate(cid)
      if (b === undefined) return undefined
      const bytes = await this.readAt(b)
      if (bytes === undefined) continue
      return blockMatches(cid, bytes) ? bytes : 'damaged'
    }
    return 'unreadable'
  }

  /** Refreshes `cid`'s touched time (garbage collection spares recent blocks); false if not packed. */
  async touch (cid: CID, nowMs: number): Promise<boolean> {
    return await this.moves.run(async () => {
      const b = await this.locate(cid)
      if (b === undefined) return false
      await this.index.put(cidKey(cid), entryValue(b.pack, b.offset, b.size, nowMs))
      return true
    })
  }

  /** Removes `cid` from the index (its bytes are dead until the pack is compacted); `only`: if it is still there. */
  async delete (cid: CID, only?: PackedBlock): Promise<boolean> {
    return await this.moves.run(async () => {
      const b = await this.locate(cid)
      if (b === undefined || (only !== undefined && (b.pack !== only.pack || b.offset !== only.offset))) return false
      await this.index.del(cidKey(cid), SYNC)
      return true
    })
  }

  /** every packed block, in cid order */
  async * list (): AsyncGenerator<PackedBlock> {
    for await (const [key, value] of this.index.iterator()) {
      let cid: CID
      try { cid = decodeBlockCid(CID.parse(key).bytes) } catch { continue }
      yield parseEntry(cid, value)
    }
  }

  /**
   * Rewrites the live blocks of every closed pack that is mostly dead (or small) into the pack
   * being written, then removes the pack. A block read whole that no longer matches its cid is
   * handed to `onDamage` (to keep its bytes aside) and taken out of the index. A pack that
   * cannot be read is left as it is (the error is thrown). Returns the packs removed and the
   * bytes that freed. The index is read once for the live bytes of every pack, and once more
   * for the blocks of each pack rewritten.
   */
  async compact (onDamage: (b: PackedBlock, bytes: Uint8Array) => Promise<void>): Promise<{ packs: number, freedBytes: number }> {
    if (this.compacting) throw new Error('a compaction is running')
    this.compacting = true
    try {
      return await this.compactClosedPacks(onDamage)
    } finally {
      this.compacting = false
    }
  }

  private async compactClosedPacks (onDamage: (b: PackedBlock, bytes: Uint8Array) => Promise<void>): Promise<{ packs: number, freedBytes: number }> {
    // the candidates first: a closed pack without pending writes gets no new entries (puts and
    // moves append to the current pack), so what the index says of it below can only shrink
    const candidates: number[] = []
    for (const name of await readdir(this.root)) {
      const m = /^(\d+)\.pack$/.exec(name)
      if (m === null) continue
      const n = Number(m[1])
      if (n !== this.current && !this.pending.has(n)) candidates.push(n)
    }
    // live bytes per pack (one number each: the index of a big store does not fit in memory)
    const liveBytes = new Map<number, number>()
    for await (const b of this.list()) liveBytes.set(b.pack, (liveBytes.get(b.pack) ?? 0) + b.size)
    const report = { packs: 0, freedBytes: 0 }
    for (const n of candidates) {
      const size = (await stat(this.pathOf(n)).catch(() => undefined))?.size
      if (size === undefined || (liveBytes.get(n) ?? 0) >= this.packBytes * COMPACT_LIVE_SHARE) continue
      const blocks: PackedBlock[] = []
      for await (const b of this.list()) if (b.pack === n) blocks.push(b)
      let moved = 0
      for (const b of blocks) {
        const bytes = await this.readAt(b)
        if (bytes === undefined) throw new Error(`cannot read block ${b.cid.toString()} from ${this.pathOf(n)}: pack kept`)
        if (!blockMatches(b.cid, bytes)) {
          await onDamage(b, bytes)
          await this.delete(b.cid, b)
          continue
        }
        await this.move(b, bytes)
        moved += b.size
      }
      this.retireReader(n)
      await unlink(this.pathOf(n))
      await fsyncDir(this.root)
      report.packs++
      report.freedBytes += size - moved
    }
    return report
  }

  /** `b`'s bytes appended again, and its entry pointed there unless it was deleted or moved meanwhile */
  private async move (b: PackedBlock, bytes: Uint8Array): Promise<void> {
    const at = await this.write(b.cid, bytes)
    try {
      await this.commit.join() // the copy is durable
      await this.moves.run(async () => {
        const now = await this.locate(b.cid)
        if (now === undefined || now.pack !== b.pack || now.offset !== b.offset) return
        await this.index.put(cidKey(b.cid), entryValue(at.pack.n, at.offset, b.size, b.touchedMs), SYNC)
      })
    } finally {
      this.settle(at.pack.n)
    }
  }
}

function closeReader (r: Reader): void {
  void r.fh.then(async fh => { await fh.close() }).catch(() => {})
}

function entryValue (pack: number, offset: number, size: number, touchedMs: number): string {
  return `${pack} ${offset} ${size} ${touchedMs}`
}

function parseEntry (cid: CID, value: string): PackedBlock {
  const [pack, offset, size, touchedMs] = value.split(' ').map(Number) as [number, number, number, number]
  return { cid, pack, offset, size, touchedMs }
}
