import type { PrivateKey } from '@libp2p/interface'
import type { FileRecord, BlockRef } from '../model/file-record.ts'
import { bumpVersion } from '../model/version-vector.ts'
import { signRecords, type SignedRecord } from '../log/signed-record.ts'
import { cidKey } from '../hashing/block-cid.ts'
import type { RecordLog, OwnAppend } from './record-log.ts'
import type { LocalMeta } from './local-meta.ts'

export type { LocalMeta } from './local-meta.ts'

/** A local change, before it gets its device, seq and version. */
export type LocalChange = Omit<FileRecord, 'folder' | 'device' | 'seq' | 'version' | 'modifiedBy'> & {
  /** set when adopting a peer's version; otherwise the version is bumped */
  adopt?: FileRecord
  meta?: LocalMeta | null
  /**
   * The seq of our own record the change was derived from (0: none). If our record moved on
   * meanwhile (the applier installed a peer's version), the change is stale and is dropped.
   */
  base?: number
}

export interface BlockLocation { path: string, offset: number, size: number }

/**
 * What only this device knows of a folder: its key and its own commits (signed here, appended
 * through the record log), the scan cache (inode, size, mtime per path) and where the blocks of
 * our own files sit. The scan cache is persisted by the log; the block index is rebuilt from our
 * records at open and follows them.
 */
export class LocalIndex {
  private readonly log: RecordLog
  private readonly key: PrivateKey
  private readonly metas = new Map<string, LocalMeta>()
  /** inode -> paths whose scan cache names it (renames are recognised without reading) */
  private readonly byInode = new Map<number, Set<string>>()
  private readonly blocks = new Map<string, BlockLocation[]>()

  /** Follows `log`'s own records from now on: make it before the log opens. */
  constructor (opts: { log: RecordLog, key: PrivateKey }) {
    this.log = opts.log
    this.key = opts.key
    this.log.observeOwn((r, old) => {
      if (old !== undefined) this.unindexBlocks(old)
      this.indexBlocks(r)
    })
  }

  /** Loads the scan cache. */
  async open (): Promise<void> {
    for await (const [path, meta] of this.log.scanCache()) this.putMeta(path, meta)
  }

  private indexBlocks (r: Pick<FileRecord, 'path' | 'blocks' | 'deleted' | 'type'>): void {
    if (r.deleted || r.type !== 'file') return
    let offset = 0
    for (const b of r.blocks) {
      const k = cidKey(b.cid)
      const list = this.blocks.get(k)
      const loc = { path: r.path, offset, size: b.size }
      if (list === undefined) this.blocks.set(k, [loc])
      else list.push(loc)
      offset += b.size
    }
  }

  private unindexBlocks (r: Pick<FileRecord, 'path' | 'blocks'>): void {
    for (const b of r.blocks) {
      const k = cidKey(b.cid)
      const list = this.blocks.get(k)
      if (list === undefined) continue
      const rest = list.filter(l => l.path !== r.path)
      if (rest.length === 0) this.blocks.delete(k)
      else this.blocks.set(k, rest)
    }
  }

  /**
   * Block locations in a file that no record of ours describes (the trash, `path` relative to
   * the folder root): read, served and verified like our own files' blocks.
   */
  addBlockLocations (path: string, blocks: readonly BlockRef[]): void {
    this.indexBlocks({ path, blocks, deleted: false, type: 'file' })
  }

  removeBlockLocations (path: string, blocks: readonly BlockRef[]): void {
    this.unindexBlocks({ path, blocks })
  }

  /** Where the content of `cid` sits in our own files (to be re-verified on read). */
  blockLocations (cid: BlockRef['cid']): readonly BlockLocation[] {
    return this.blocks.get(cidKey(cid)) ?? []
  }

  meta (path: string): LocalMeta | undefined {
    return this.metas.get(path)
  }

  /**
   * Our live file record whose scan cache matches this inode, size and mtime: the same file
   * under another name (a rename or a hard link), whose blocks are known without reading it.
   */
  sameFileAs (meta: LocalMeta): FileRecord | undefined {
    for (const path of this.byInode.get(meta.ino) ?? []) {
      const m = this.metas.get(path)
      const own = this.log.own(path)
      if (m !== undefined && m.size === meta.size && m.mtimeNs === meta.mtimeNs && own !== undefined && !own.deleted && own.type === 'file') return own
    }
    return undefined
  }

  private putMeta (path: string, meta: LocalMeta): void {
    const old = this.metas.get(path)
    if (old !== undefined) this.byInode.get(old.ino)?.delete(path)
    this.metas.set(path, meta)
    let paths = this.byInode.get(meta.ino)
    if (paths === undefined) {
      paths = new Set()
      this.byInode.set(meta.ino, paths)
    }
    paths.add(path)
  }

  private dropMeta (path: string): void {
    const old = this.metas.get(path)
    if (old === undefined) return
    this.metas.delete(path)
    const paths = this.byInode.get(old.ino)
    paths?.delete(path)
    if (paths?.size === 0) this.byInode.delete(old.ino)
  }

  /**
   * Appends our own changes to our log: each gets the next seq, a version (bumped, or the
   * adopted peer's), a signature; records, scan metadata and the superseded records go in one
   * atomic batch.
   */
  async commitLocal (changes: readonly LocalChange[]): Promise<FileRecord[]> {
    if (changes.length === 0) return []
    const self = this.log.self
    return await this.log.exclusive(async () => {
      let seq = this.log.position(self)
      const records: FileRecord[] = []
      /** what each record replaces: a stored record, or (a number) an earlier one of this batch */
      const previousOf: Array<SignedRecord | number | undefined> = []
      const committed: LocalChange[] = []
      /** this batch's records by path: a later change of the same path builds on them */
      const inBatch = new Map<string, number>()
      for (const c of changes) {
        const at = inBatch.get(c.path)
        const previousSigned = at !== undefined ? undefined : this.log.ownSigned(c.path)
        const previous = at !== undefined ? records[at] : previousSigned?.record
        if (c.base !== undefined && (previous?.seq ?? 0) !== c.base) continue
        seq++
        inBatch.set(c.path, records.length)
        committed.push(c)
        previousOf.push(at ?? previousSigned)
        records.push({
          folder: this.log.folder,
          device: self,
          seq,
          path: c.path,
          type: c.type,
          size: c.size,
          mode: c.mode,
          mtimeMs: c.mtimeMs,
          deleted: c.deleted,
          blocks: c.blocks,
          modifiedBy: c.adopt?.modifiedBy ?? self,
          version: c.adopt?.version ?? bumpVersion(previous?.version ?? {}, self, seq)
        })
      }
      // one signature for the whole commit (a batch proof per record), on the thread pool
      const signed = await signRecords(records, this.key)
      const appends: OwnAppend[] = signed.map((s, i) => {
        const p = previousOf[i]
        return { signed: s, supersedes: typeof p === 'number' ? signed[p] : p, meta: committed[i]!.meta }
      })
      const written = await this.log.appendOwn(appends, () => {
        for (const c of committed) {
          if (c.meta === null) this.dropMeta(c.path)
          else if (c.meta !== undefined) this.putMeta(c.path, c.meta)
        }
      })
      return written ? signed.map(s => s.record) : []
    })
  }

  /** Updates only the scan cache (e.g. after we set a file's mtime ourselves). */
  async setMeta (path: string, meta: LocalMeta): Promise<void> {
    await this.log.putScanCache(path, meta)
    this.putMeta(path, meta)
  }
}
