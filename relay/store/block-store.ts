import { mkdir, open, readdir, readFile, rename, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import { blockMatches, decodeBlockCid } from '../../src/hashing/block-cid.ts'
import { FerryError } from '../../src/errors.ts'
import { DirSync } from './dir-sync.ts'
import { BlockPacks, type PackedBlock } from './block-packs.ts'

/** A block whose bytes do not hash to its id: refused on write, reported on read. */
export class BlockHashMismatchError extends FerryError {
  constructor (cid: CID) {
    super(`block ${cid.toString()} does not match its hash`, 'ERR_FERRY_BLOCK_HASH')
  }
}

export interface StoredBlock { cid: CID, size: number, mtimeMs: number }

export interface PutOptions {
  /** runs once the bytes are verified, before the block shows under its cid (for a file, once its bytes are durable) */
  beforePlace?: () => Promise<void>
  /** the caller found the block missing just before: it is not looked for again (if another
   * upload stored it meanwhile, it is stored twice, the same bytes) */
  missing?: boolean
  /** into a pack (block-packs.ts), not a file of its own */
  packed?: boolean
}

const TMP_DIR = 'tmp'
const DAMAGED_DIR = 'damaged'
const PACKS_DIR = 'packs'

/**
 * Content-addressed blocks on disk, each either in a pack (`<root>/packs`, block-packs.ts: the
 * blocks of sealed folders, which the relay cannot read) or in a file of its own,
 * `<root>/<first digest byte, hex>/<cid>` (plaintext blocks: deleting one must remove its bytes at
 * once, which a pack does only when compacted). A file is written to `<root>/tmp`, fdatasynced,
 * renamed into place and its directory fsynced before `put` resolves, so an acknowledged block
 * survives a crash and a half-written one is never visible under its name (leftover temp files
 * are removed on open). The hash is checked before anything is written. Concurrent puts into one
 * shard share its directory fsync (dir-sync.ts).
 */
export class BlockStore {
  readonly root: string
  readonly packs: BlockPacks
  /** shard directories known to exist (made once, not once per block) */
  private readonly shards = new Set<string>()
  private readonly dirSync = new DirSync()

  constructor (root: string, index: ConstructorParameters<typeof BlockPacks>[1], opts: { packBytes?: number } = {}) {
    this.root = root
    this.packs = new BlockPacks(join(root, PACKS_DIR), index, opts)
  }

  async open (): Promise<void> {
    await mkdir(this.root, { recursive: true })
    // temp files are writes that were never acknowledged
    await rm(join(this.root, TMP_DIR), { recursive: true, force: true })
    await mkdir(join(this.root, TMP_DIR))
    await this.packs.open()
  }

  async close (): Promise<void> {
    await this.packs.close()
  }

  private shard (cid: CID): string {
    return cid.multihash.digest[0]!.toString(16).padStart(2, '0')
  }

  pathOf (cid: CID): string {
    return join(this.root, this.shard(cid), cid.toString())
  }

  async has (cid: CID): Promise<boolean> {
    if (await this.packs.locate(cid) !== undefined) return true
    return await stat(this.pathOf(cid)).then(() => true, () => false)
  }

  /** Verified bytes of `cid`; undefined when missing or damaged (`onDamage` is told). */
  async get (cid: CID, onDamage?: (cid: CID) => void): Promise<Uint8Array | undefined> {
    const packed = await this.packs.get(cid)
    if (packed === 'damaged') {
      onDamage?.(cid)
      return undefined
    }
    if (packed !== undefined) return packed
    let bytes: Uint8Array
    try { bytes = await readFile(this.pathOf(cid)) } catch { return undefined }
    if (!blockMatches(cid, bytes)) {
      onDamage?.(cid)
      return undefined
    }
    return bytes
  }

  /**
   * Stores `data` under `cid` durably; resolves only after fsync, with whether it was written
   * (false: already held). Throws if the hash differs. `beforePlace` runs once the bytes are
   * verified, before the block shows under its cid: what must be true of every block the store
   * holds (its folder's reference) is written there.
   */
  async put (cid: CID, data: Uint8Array, opts: PutOptions = {}): Promise<boolean> {
    const { beforePlace } = opts
    if (!blockMatches(cid, data)) throw new BlockHashMismatchError(cid)
    const final = this.pathOf(cid)
    if (opts.missing !== true && await this.has(cid)) {
      await beforePlace?.()
      return false
    }
    if (opts.packed === true) {
      await this.packs.put(cid, data, beforePlace)
      return true
    }
    const dir = join(this.root, this.shard(cid))
    if (!this.shards.has(dir)) {
      await mkdir(dir, { recursive: true })
      this.shards.add(dir)
    }
    const tmp = join(this.root, TMP_DIR, `${randomBytes(8).toString('hex')}.tmp`)
    const fh = await open(tmp, 'wx', 0o600)
    try {
      await fh.writeFile(data)
      // a new file: its data and size are all a read needs back (its name is the rename's)
      await fh.datasync()
    } catch (err) {
      await fh.close()
      await unlink(tmp).catch(() => {})
      throw err
    }
    await fh.close()
    try {
      await beforePlace?.()
    } catch (err) {
      await unlink(tmp).catch(() => {})
      throw err
    }
    await rename(tmp, final)
    await this.dirSync.sync(dir)
    return true
  }

  async delete (cid: CID): Promise<void> {
    await this.packs.delete(cid)
    await unlink(this.pathOf(cid)).catch(() => {})
  }

  /** Refreshes when `cid` was last stored or reported held (garbage collection spares recent blocks); false if not held. */
  async touch (cid: CID, nowMs: number): Promise<boolean> {
    if (await this.packs.touch(cid, nowMs)) return true
    const at = new Date(nowMs)
    return await utimes(this.pathOf(cid), at, at).then(() => true, () => false)
  }

  /** whether `cid`'s bytes are there and match it (`unreadable`: a packed block that cannot be read) */
  async check (cid: CID): Promise<'ok' | 'damaged' | 'unreadable' | 'missing'> {
    const packed = await this.packs.check(cid)
    if (packed !== 'missing') return packed
    try {
      return blockMatches(cid, await readFile(this.pathOf(cid))) ? 'ok' : 'damaged'
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'damaged'
    }
  }

  /** Moves a damaged block out of the store (kept for inspection), so it is uploaded again. */
  async quarantine (cid: CID): Promise<void> {
    const packed = await this.packs.locate(cid)
    if (packed !== undefined) {
      const bytes = await this.packs.readAt(packed)
      if (bytes !== undefined) await this.keepDamaged(packed, bytes)
      await this.packs.delete(cid, packed)
      return
    }
    await mkdir(join(this.root, DAMAGED_DIR), { recursive: true })
    await rename(this.pathOf(cid), join(this.root, DAMAGED_DIR, `${cid.toString()}.${Date.now()}`)).catch(() => {})
  }

  private async keepDamaged (b: PackedBlock, bytes: Uint8Array): Promise<void> {
    await mkdir(join(this.root, DAMAGED_DIR), { recursive: true })
    await writeFile(join(this.root, DAMAGED_DIR, `${b.cid.toString()}.${Date.now()}`), bytes, { mode: 0o600 }).catch(() => {})
  }

  /** Reclaims the space of deleted packed blocks (see BlockPacks.compact); damaged ones are quarantined. */
  async compact (): Promise<{ packs: number, freedBytes: number }> {
    return await this.packs.compact(async (b, bytes) => { await this.keepDamaged(b, bytes) })
  }

  /** Every stored block (not its bytes): packed ones, then files. Files that are not block ids are skipped. */
  async * list (): AsyncGenerator<StoredBlock> {
    for await (const b of this.packs.list()) yield { cid: b.cid, size: b.size, mtimeMs: b.touchedMs }
    const shards = (await readdir(this.root)).filter(n => /^[0-9a-f]{2}$/.test(n)).sort()
    for (const shard of shards) {
      for (const name of await readdir(join(this.root, shard)).catch(() => [] as string[])) {
        let cid: CID
        try { cid = decodeBlockCid(CID.parse(name).bytes) } catch { continue }
        const st = await stat(join(this.root, shard, name)).catch(() => undefined)
        if (st === undefined) continue
        yield { cid, size: st.size, mtimeMs: st.mtimeMs }
      }
    }
  }
}
