import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import { blockMatches, decodeBlockCid } from '../../src/hashing/block-cid.ts'
import { FerryError } from '../../src/errors.ts'
import { DirSync } from './dir-sync.ts'

/** A block whose bytes do not hash to its id: refused on write, reported on read. */
export class BlockHashMismatchError extends FerryError {
  constructor (cid: CID) {
    super(`block ${cid.toString()} does not match its hash`, 'ERR_FERRY_BLOCK_HASH')
  }
}

export interface StoredBlock { cid: CID, path: string, size: number, mtimeMs: number }

const TMP_DIR = 'tmp'
const DAMAGED_DIR = 'damaged'

/**
 * Content-addressed blocks on disk: `<root>/<first digest byte, hex>/<cid>`. A block is written
 * to `<root>/tmp`, fdatasynced, renamed into place and its directory fsynced before `put`
 * resolves, so an acknowledged block survives a crash and a half-written one is never visible
 * under its name (leftover temp files are removed on open). The hash is checked before anything
 * is written. Concurrent puts into one shard share its directory fsync (dir-sync.ts).
 */
export class BlockStore {
  readonly root: string
  /** shard directories known to exist (made once, not once per block) */
  private readonly shards = new Set<string>()
  private readonly dirSync = new DirSync()

  constructor (root: string) {
    this.root = root
  }

  async open (): Promise<void> {
    await mkdir(this.root, { recursive: true })
    // temp files are writes that were never acknowledged
    await rm(join(this.root, TMP_DIR), { recursive: true, force: true })
    await mkdir(join(this.root, TMP_DIR))
  }

  private shard (cid: CID): string {
    return cid.multihash.digest[0]!.toString(16).padStart(2, '0')
  }

  pathOf (cid: CID): string {
    return join(this.root, this.shard(cid), cid.toString())
  }

  async has (cid: CID): Promise<boolean> {
    return await stat(this.pathOf(cid)).then(() => true, () => false)
  }

  /** Verified bytes of `cid`; undefined when missing or damaged (`onDamage` is told). */
  async get (cid: CID, onDamage?: (cid: CID) => void): Promise<Uint8Array | undefined> {
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
   * verified (and, when new, durable under a temp name), before the block shows under its name:
   * what must be true of every block the store holds (its folder's reference) is written there.
   * `missing`: the caller found the block missing just before, so it is not looked for again
   * (if another upload stored it meanwhile, it is written again: the same bytes, renamed over).
   */
  async put (cid: CID, data: Uint8Array, beforePlace?: () => Promise<void>, missing = false): Promise<boolean> {
    if (!blockMatches(cid, data)) throw new BlockHashMismatchError(cid)
    const final = this.pathOf(cid)
    if (!missing && await this.has(cid)) {
      await beforePlace?.()
      return false
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
    await unlink(this.pathOf(cid)).catch(() => {})
  }

  /** Moves a damaged block out of the store (kept for inspection), so it is uploaded again. */
  async quarantine (cid: CID): Promise<void> {
    await mkdir(join(this.root, DAMAGED_DIR), { recursive: true })
    await rename(this.pathOf(cid), join(this.root, DAMAGED_DIR, `${cid.toString()}.${Date.now()}`)).catch(() => {})
  }

  /** Every stored block (not its bytes). Files that are not block ids are skipped. */
  async * list (): AsyncGenerator<StoredBlock> {
    const shards = (await readdir(this.root)).filter(n => /^[0-9a-f]{2}$/.test(n)).sort()
    for (const shard of shards) {
      for (const name of await readdir(join(this.root, shard)).catch(() => [] as string[])) {
        let cid: CID
        try { cid = decodeBlockCid(CID.parse(name).bytes) } catch { continue }
        const path = join(this.root, shard, name)
        const st = await stat(path).catch(() => undefined)
        if (st === undefined) continue
        yield { cid, path, size: st.size, mtimeMs: st.mtimeMs }
      }
    }
  }
}
