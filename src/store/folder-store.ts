import type { AbstractSublevel } from 'abstract-level'
import type { PrivateKey } from '@libp2p/interface'
import type { FileRecord, BlockRef } from '../model/file-record.ts'
import { bumpVersion } from '../model/version-vector.ts'
import { decodeStoredRecord, encodeSignedRecord, signRecords, type SignedRecord } from '../log/signed-record.ts'
import { AsyncLock } from './async-lock.ts'
import { historyEntry, pruneHistory, readHistory, type HistoryEntry } from '../history/record-history.ts'
import { cidKey } from '../hashing/block-cid.ts'

// abstract-level's sublevel type needs the parent's type parameters; the parent is opaque here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type FolderDb = AbstractSublevel<any, any, string, Uint8Array>

/** What the scanner remembers of a file on disk, to skip re-reading unchanged files. */
export interface LocalMeta {
  ino: number
  size: number
  mtimeNs: string
  mode: number
}

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

export interface FolderStoreOptions {
  db: FolderDb
  folder: string
  self: string
  key: PrivateKey
  /** fsync every batch before it counts as written (the relay acknowledges only durable data) */
  syncWrites?: boolean
}

const SEQ_DIGITS = 16
const recordKey = (device: string, seq: number): string => `r:${device}:${String(seq).padStart(SEQ_DIGITS, '0')}`
const metaKey = (path: string): string => `m:${path}`
const encoder = new TextEncoder()
const decoder = new TextDecoder()

/**
 * All records of one folder (ours and every member's), the scan cache, and the block index of
 * our own files. Everything is in memory for planning and persisted in level with atomic
 * batches: a crash leaves the state before or after a commit, never a mix.
 */
export class FolderStore {
  readonly folder: string
  readonly self: string
  private readonly db: FolderDb
  private readonly key: PrivateKey
  private readonly lock = new AsyncLock()
  private readonly byPath = new Map<string, Map<string, SignedRecord>>()
  private readonly positions = new Map<string, number>()
  private readonly metas = new Map<string, LocalMeta>()
  /** inode -> paths whose scan cache names it (renames are recognised without reading) */
  private readonly byInode = new Map<number, Set<string>>()
  private readonly blocks = new Map<string, BlockLocation[]>()
  private readonly listeners = new Set<(paths: readonly string[]) => void>()
  private readonly syncWrites: boolean

  constructor (opts: FolderStoreOptions) {
    this.db = opts.db
    this.folder = opts.folder
    this.self = opts.self
    this.key = opts.key
    this.syncWrites = opts.syncWrites ?? false
  }

  async open (): Promise<void> {
    for await (const [key, value] of this.db.iterator({ gte: 'r:', lt: 'r;' })) {
      const s = decodeStoredRecord(value)
      this.index(s)
      void key
    }
    for await (const [key, value] of this.db.iterator({ gte: 'm:', lt: 'm;' })) {
      this.putMeta(key.slice(2), JSON.parse(decoder.decode(value)) as LocalMeta)
    }
  }

  // classic-level honours `sync` through sublevels; abstract-level's option type does not name it
  private writeOptions (): Record<string, unknown> {
    return this.syncWrites ? { sync: true } : {}
  }

  /** Called after every change of the record set (ours or a peer's), with the paths touched. */
  onChange (fn: (paths: readonly string[]) => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  private notify (paths: readonly string[]): void {
    for (const fn of this.listeners) fn(paths)
  }

  /** Every path any device has a record of. */
  paths (): IterableIterator<string> {
    return this.byPath.keys()
  }

  /** Other devices' newest records of one path (those `accept` lets through). */
  remoteOf (path: string, accept: (device: string) => boolean = () => true): FileRecord[] {
    const list: FileRecord[] = []
    for (const [device, s] of this.byPath.get(path) ?? []) if (device !== this.self && accept(device)) list.push(s.record)
    return list
  }

  private index (s: SignedRecord): SignedRecord | undefined {
    const r = s.record
    let devices = this.byPath.get(r.path)
    if (devices === undefined) {
      devices = new Map()
      this.byPath.set(r.path, devices)
    }
    const old = devices.get(r.device)
    devices.set(r.device, s)
    if ((this.positions.get(r.device) ?? 0) < r.seq) this.positions.set(r.device, r.seq)
    if (r.device === this.self) {
      if (old !== undefined) this.unindexBlocks(old.record)
      this.indexBlocks(r)
    }
    return old
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

  /** Our own newest record per path. */
  ownRecords (): Map<string, FileRecord> {
    const out = new Map<string, FileRecord>()
    for (const [path, devices] of this.byPath) {
      const s = devices.get(this.self)
      if (s !== undefined) out.set(path, s.record)
    }
    return out
  }

  /** The newest signed record of `path` of every device, verbatim (for forwarding). */
  signedOf (path: string): SignedRecord[] {
    return [...(this.byPath.get(path)?.values() ?? [])]
  }

  own (path: string): FileRecord | undefined {
    return this.byPath.get(path)?.get(this.self)?.record
  }

  /** Every other device's newest record per path, for the planner. */
  remoteRecords (accept: (device: string) => boolean = () => true): Map<string, FileRecord[]> {
    const out = new Map<string, FileRecord[]>()
    for (const [path, devices] of this.byPath) {
      const list: FileRecord[] = []
      for (const [device, s] of devices) if (device !== this.self && accept(device)) list.push(s.record)
      if (list.length > 0) out.set(path, list)
    }
    return out
  }

  /** Devices whose newest record of `path` has exactly this version (they hold its blocks). */
  holdersOf (record: FileRecord): string[] {
    const out: string[] = []
    for (const [device, s] of this.byPath.get(record.path) ?? []) {
      if (device !== this.self && !s.record.deleted && sameVersion(s.record, record)) out.push(device)
    }
    return out
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
      const own = this.own(path)
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

  /** Highest seq held per device: what we ask peers to send after. */
  positionVector (): Record<string, number> {
    return Object.fromEntries(this.positions)
  }

  position (device: string): number {
    return this.positions.get(device) ?? 0
  }

  /** `device`'s records after `seq`, ascending (gap-free up to our position). */
  async * recordsAfter (device: string, seq: number, options: { signal?: AbortSignal } = {}): AsyncGenerator<SignedRecord> {
    for await (const value of this.db.values({ gt: recordKey(device, seq), lt: `r:${device};` })) {
      options.signal?.throwIfAborted()
      yield decodeStoredRecord(value)
    }
  }

  /** Devices whose records we hold. */
  devices (): string[] {
    return [...this.positions.keys()]
  }

  /**
   * Stores verified records of other devices, keeping only the newest per (device, path).
   * Returns how many were new.
   */
  async acceptRemote (records: readonly SignedRecord[]): Promise<number> {
    return this.lock.run(async () => {
      // newest per (device, path) among what is stored and this batch
      const newest = new Map<string, SignedRecord>()
      for (const s of records) {
        const r = s.record
        if (r.device === this.self || r.folder !== this.folder) continue
        const stored = this.byPath.get(r.path)?.get(r.device)
        if (stored !== undefined && stored.record.seq >= r.seq) continue
        const key = `${r.device}\0${r.path}`
        const seen = newest.get(key)
        if (seen === undefined || seen.record.seq < r.seq) newest.set(key, s)
      }
      const fresh = [...newest.values()]
      const batch = this.db.batch()
      const now = Date.now()
      for (const s of fresh) {
        const old = this.byPath.get(s.record.path)?.get(s.record.device)
        if (old !== undefined) {
          batch.del(recordKey(s.record.device, old.record.seq))
          batch.put(...historyEntry(old, now))
        }
        batch.put(recordKey(s.record.device, s.record.seq), encodeSignedRecord(s))
      }
      if (fresh.length === 0) { batch.close().catch(() => {}); return 0 }
      await batch.write(this.writeOptions())
      for (const s of fresh) this.index(s)
      this.notify(fresh.map(s => s.record.path))
      return fresh.length
    })
  }

  /**
   * Appends our own changes to our log: each gets the next seq, a version (bumped, or the
   * adopted peer's), a signature; records, scan metadata and the superseded records go in one
   * atomic batch.
   */
  async commitLocal (changes: readonly LocalChange[]): Promise<FileRecord[]> {
    if (changes.length === 0) return []
    return this.lock.run(async () => {
      let seq = this.position(this.self)
      const records: FileRecord[] = []
      /** what each record replaces: a stored record, or (a number) an earlier one of this batch */
      const previousOf: Array<SignedRecord | number | undefined> = []
      const committed: LocalChange[] = []
      /** this batch's records by path: a later change of the same path builds on them */
      const inBatch = new Map<string, number>()
      for (const c of changes) {
        const at = inBatch.get(c.path)
        const previousSigned = at !== undefined ? undefined : this.byPath.get(c.path)?.get(this.self)
        const previous = at !== undefined ? records[at] : previousSigned?.record
        if (c.base !== undefined && (previous?.seq ?? 0) !== c.base) continue
        seq++
        inBatch.set(c.path, records.length)
        committed.push(c)
        previousOf.push(at ?? previousSigned)
        records.push({
          folder: this.folder,
          device: this.self,
          seq,
          path: c.path,
          type: c.type,
          size: c.size,
          mode: c.mode,
          mtimeMs: c.mtimeMs,
          deleted: c.deleted,
          blocks: c.blocks,
          modifiedBy: c.adopt?.modifiedBy ?? this.self,
          version: c.adopt?.version ?? bumpVersion(previous?.version ?? {}, this.self, seq)
        })
      }
      // one signature for the whole commit (a batch proof per record), on the thread pool
      const signed = await signRecords(records, this.key)
      const batch = this.db.batch()
      const now = Date.now()
      for (let i = 0; i < signed.length; i++) {
        const s = signed[i]!
        const c = committed[i]!
        const p = previousOf[i]
        const previousSigned = typeof p === 'number' ? signed[p] : p
        if (previousSigned !== undefined) {
          batch.del(recordKey(this.self, previousSigned.record.seq))
          batch.put(...historyEntry(previousSigned, now))
        }
        batch.put(recordKey(this.self, s.record.seq), encodeSignedRecord(s))
        if (c.meta === null) batch.del(metaKey(c.path))
        else if (c.meta !== undefined) batch.put(metaKey(c.path), encoder.encode(JSON.stringify(c.meta)))
      }
      if (signed.length === 0) { batch.close().catch(() => {}); return [] }
      await batch.write(this.writeOptions())
      for (let i = 0; i < signed.length; i++) {
        this.index(signed[i]!)
        const meta = committed[i]!.meta
        if (meta === null) this.dropMeta(committed[i]!.path)
        else if (meta !== undefined) this.putMeta(committed[i]!.path, meta)
      }
      this.notify(committed.map(c => c.path))
      return signed.map(s => s.record)
    })
  }

  /** Superseded records of `path` still within the retention period (src/history/). */
  async history (path: string): Promise<HistoryEntry[]> {
    return await readHistory(this.db, path)
  }

  /** Forgets superseded records older than `beforeMs`. */
  async pruneHistory (beforeMs: number): Promise<number> {
    return await this.lock.run(async () => await pruneHistory(this.db, beforeMs))
  }

  /** Updates only the scan cache (e.g. after we set a file's mtime ourselves). */
  async setMeta (path: string, meta: LocalMeta): Promise<void> {
    await this.db.put(metaKey(path), encoder.encode(JSON.stringify(meta)))
    this.putMeta(path, meta)
  }
}

function sameVersion (a: FileRecord, b: FileRecord): boolean {
  const ka = Object.keys(a.version)
  if (ka.length !== Object.keys(b.version).length) return false
  return ka.every(k => a.version[k] === b.version[k])
}
