import type { FileRecord } from '../model/file-record.ts'
import { decodeStoredRecord, encodeSignedRecord, type SignedRecord } from '../log/signed-record.ts'
import { AsyncLock } from './async-lock.ts'
import { keyNames, metaKey, METAS, pathOfMetaKey, recordKey, RECORDS, recordsAfterRange, HISTORY, type FolderDb } from './keys.ts'
import { allHistory, decodeHistoryValue, expireHistory, historyEntry, readHistory, type HistoryEntry } from './record-history.ts'
import { decodeLocalMeta, encodeLocalMeta, type LocalMeta } from './local-meta.ts'

export type { FolderDb } from './keys.ts'
export type { HistoryEntry } from './record-history.ts'

export interface RecordLogOptions {
  db: FolderDb
  folder: string
  /** the device whose records are "own": they arrive only through `appendOwn`, never from peers */
  self: string
  /** fsync every batch before it counts as written (the relay acknowledges only durable data) */
  syncWrites?: boolean
}

/** One of our own signed records to append, the record it supersedes and its scan cache. */
export interface OwnAppend {
  signed: SignedRecord
  supersedes?: SignedRecord
  /** the scan cache of its path: set, dropped (null) or left as is (undefined) */
  meta?: LocalMeta | null
}

/** A record as stored, for a scrub: where it is, its envelope, and whether the place fits it. */
export interface StoredEnvelope {
  /** the log's name for where it is stored (for reports) */
  key: string
  /** the signed envelope; throws if the stored entry is malformed */
  envelope: () => Uint8Array
  /** whether it is stored under this record's own device, seq and path */
  storedAs: (record: FileRecord) => boolean
}

/** What a reader of the log (not a writer) may use: FolderStore and RecordLog both fit. */
export type RecordReader = Pick<RecordLog, 'folder' | 'self' | 'onChange' | 'paths' | 'own' | 'ownRecords' | 'remoteOf' |
'remoteRecords' | 'signedOf' | 'holdersOf' | 'positionVector' | 'position' | 'devices' | 'recordsAfter' | 'history'>

/**
 * The signed records of one folder, of every device: the newest per (device, path) in memory for
 * planning, positions per device, and superseded records as history. It alone knows the key
 * layout (src/store/keys.ts); it holds no key and signs nothing. Writes are atomic level
 * batches: a crash leaves the state before or after a batch, never a mix.
 */
export class RecordLog {
  readonly folder: string
  readonly self: string
  private readonly db: FolderDb
  private readonly lock = new AsyncLock()
  private readonly byPath = new Map<string, Map<string, SignedRecord>>()
  private readonly positions = new Map<string, number>()
  private readonly listeners = new Set<(paths: readonly string[]) => void>()
  private readonly ownObservers = new Set<(record: FileRecord, old: FileRecord | undefined) => void>()
  private readonly syncWrites: boolean

  constructor (opts: RecordLogOptions) {
    this.db = opts.db
    this.folder = opts.folder
    this.self = opts.self
    this.syncWrites = opts.syncWrites ?? false
  }

  /** Loads the current records into memory. */
  async open (): Promise<void> {
    for await (const value of this.db.values(RECORDS)) this.index(decodeStoredRecord(value))
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

  /**
   * Called synchronously whenever one of our own records enters memory (at open and on append),
   * with the record it replaces: the device-local index follows our files' blocks through it.
   */
  observeOwn (fn: (record: FileRecord, old: FileRecord | undefined) => void): void {
    this.ownObservers.add(fn)
  }

  /** Runs `fn` with the log's write lock: `appendOwn` must be called inside it. */
  async exclusive<T> (fn: () => Promise<T>): Promise<T> {
    return await this.lock.run(fn)
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

  private index (s: SignedRecord): void {
    const r = s.record
    let devices = this.byPath.get(r.path)
    if (devices === undefined) {
      devices = new Map()
      this.byPath.set(r.path, devices)
    }
    const old = devices.get(r.device)
    devices.set(r.device, s)
    if ((this.positions.get(r.device) ?? 0) < r.seq) this.positions.set(r.device, r.seq)
    if (r.device === this.self) for (const fn of this.ownObservers) fn(r, old?.record)
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

  /** Our own newest signed record of `path`. */
  ownSigned (path: string): SignedRecord | undefined {
    return this.byPath.get(path)?.get(this.self)
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

  /** Highest seq held per device: what we ask peers to send after. */
  positionVector (): Record<string, number> {
    return Object.fromEntries(this.positions)
  }

  position (device: string): number {
    return this.positions.get(device) ?? 0
  }

  /** `device`'s records after `seq`, ascending (gap-free up to our position). */
  async * recordsAfter (device: string, seq: number, options: { signal?: AbortSignal } = {}): AsyncGenerator<SignedRecord> {
    for await (const value of this.db.values(recordsAfterRange(device, seq))) {
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
    return await this.lock.run(async () => {
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
   * Appends our own records (already signed, in seq order) in one atomic batch: each replaces
   * the record it supersedes, which moves to history; scan caches go in the same batch.
   * `written` runs once they are in memory, before change listeners are told. Call inside
   * `exclusive`. Returns false (writing nothing) if `appends` is empty.
   */
  async appendOwn (appends: readonly OwnAppend[], written: () => void = () => {}): Promise<boolean> {
    const batch = this.db.batch()
    const now = Date.now()
    for (const a of appends) {
      if (a.supersedes !== undefined) {
        batch.del(recordKey(this.self, a.supersedes.record.seq))
        batch.put(...historyEntry(a.supersedes, now))
      }
      batch.put(recordKey(this.self, a.signed.record.seq), encodeSignedRecord(a.signed))
      const path = a.signed.record.path
      if (a.meta === null) batch.del(metaKey(path))
      else if (a.meta !== undefined) batch.put(metaKey(path), encodeLocalMeta(a.meta))
    }
    if (appends.length === 0) { batch.close().catch(() => {}); return false }
    await batch.write(this.writeOptions())
    for (const a of appends) this.index(a.signed)
    written()
    this.notify(appends.map(a => a.signed.record.path))
    return true
  }

  /** Superseded records of `path` still within the retention period. */
  async history (path: string): Promise<HistoryEntry[]> {
    return await readHistory(this.db, path)
  }

  /** Every superseded record still kept, oldest key first. */
  allHistory (): AsyncGenerator<HistoryEntry> {
    return allHistory(this.db)
  }

  /** Forgets superseded records older than `beforeMs`. */
  async pruneHistory (beforeMs: number): Promise<number> {
    return await this.expireHistory(supersededAtMs => supersededAtMs < beforeMs)
  }

  /** Forgets the superseded records `expired` picks by when they were superseded; returns how many. */
  async expireHistory (expired: (supersededAtMs: number) => boolean): Promise<number> {
    return await this.lock.run(async () => await expireHistory(this.db, expired, this.writeOptions()))
  }

  /** Every current record as stored (every device's newest per path), for a scrub. */
  async * storedRecords (): AsyncGenerator<StoredEnvelope> {
    for await (const [key, value] of this.db.iterator(RECORDS)) {
      yield { key, envelope: () => value, storedAs: record => keyNames(key, record) }
    }
  }

  /** Every history entry as stored, for a scrub. */
  async * storedHistory (): AsyncGenerator<StoredEnvelope> {
    for await (const [key, value] of this.db.iterator(HISTORY)) {
      yield { key, envelope: () => decodeHistoryValue(key, value).envelope, storedAs: record => keyNames(key, record) }
    }
  }

  /** This device's scan cache, as stored (device-local: see src/store/local-index.ts). */
  async * scanCache (): AsyncGenerator<[string, LocalMeta]> {
    for await (const [key, value] of this.db.iterator(METAS)) yield [pathOfMetaKey(key), decodeLocalMeta(value)]
  }

  /** Stores the scan cache of one path alone. */
  async putScanCache (path: string, meta: LocalMeta): Promise<void> {
    await this.db.put(metaKey(path), encodeLocalMeta(meta))
  }
}

function sameVersion (a: FileRecord, b: FileRecord): boolean {
  const ka = Object.keys(a.version)
  if (ka.length !== Object.keys(b.version).length) return false
  return ka.every(k => a.version[k] === b.version[k])
}
