import type { PrivateKey } from '@libp2p/interface'
import type { FileRecord, BlockRef } from '../model/file-record.ts'
import type { SignedRecord } from '../log/signed-record.ts'
import { RecordLog, type FolderDb, type HistoryEntry } from './record-log.ts'
import { LocalIndex, type BlockLocation, type LocalChange, type LocalMeta } from './local-index.ts'

export type { FolderDb } from './keys.ts'
export type { LocalChange, LocalMeta, BlockLocation } from './local-index.ts'

export interface FolderStoreOptions {
  db: FolderDb
  folder: string
  self: string
  key: PrivateKey
  /** fsync every batch before it counts as written (the relay acknowledges only durable data) */
  syncWrites?: boolean
}

/**
 * One folder as this device holds it: the record log of every device (`log`) and what only this
 * device knows (`index`: its commits, scan cache, block locations), over one level sublevel. The
 * methods delegate, so callers that need both keep one handle.
 */
export class FolderStore {
  readonly log: RecordLog
  readonly index: LocalIndex

  constructor (opts: FolderStoreOptions) {
    this.log = new RecordLog({ db: opts.db, folder: opts.folder, self: opts.self, ...(opts.syncWrites !== undefined ? { syncWrites: opts.syncWrites } : {}) })
    this.index = new LocalIndex({ log: this.log, key: opts.key })
  }

  get folder (): string { return this.log.folder }
  get self (): string { return this.log.self }

  async open (): Promise<void> {
    await this.log.open()
    await this.index.open()
  }

  // the record log
  onChange (fn: (paths: readonly string[]) => void): () => void { return this.log.onChange(fn) }
  paths (): IterableIterator<string> { return this.log.paths() }
  remoteOf (path: string, accept?: (device: string) => boolean): FileRecord[] { return this.log.remoteOf(path, accept) }
  ownRecords (): Map<string, FileRecord> { return this.log.ownRecords() }
  signedOf (path: string): SignedRecord[] { return this.log.signedOf(path) }
  own (path: string): FileRecord | undefined { return this.log.own(path) }
  remoteRecords (accept?: (device: string) => boolean): Map<string, FileRecord[]> { return this.log.remoteRecords(accept) }
  holdersOf (record: FileRecord): string[] { return this.log.holdersOf(record) }
  positionVector (): Record<string, number> { return this.log.positionVector() }
  position (device: string): number { return this.log.position(device) }
  recordsAfter (device: string, seq: number, options?: { signal?: AbortSignal }): AsyncGenerator<SignedRecord> { return this.log.recordsAfter(device, seq, options) }
  devices (): string[] { return this.log.devices() }
  async acceptRemote (records: readonly SignedRecord[]): Promise<number> { return await this.log.acceptRemote(records) }
  async history (path: string): Promise<HistoryEntry[]> { return await this.log.history(path) }
  async pruneHistory (beforeMs: number): Promise<number> { return await this.log.pruneHistory(beforeMs) }

  // the device-local index
  async commitLocal (changes: readonly LocalChange[]): Promise<FileRecord[]> { return await this.index.commitLocal(changes) }
  addBlockLocations (path: string, blocks: readonly BlockRef[]): void { this.index.addBlockLocations(path, blocks) }
  removeBlockLocations (path: string, blocks: readonly BlockRef[]): void { this.index.removeBlockLocations(path, blocks) }
  blockLocations (cid: BlockRef['cid']): readonly BlockLocation[] { return this.index.blockLocations(cid) }
  meta (path: string): LocalMeta | undefined { return this.index.meta(path) }
  sameFileAs (meta: LocalMeta): FileRecord | undefined { return this.index.sameFileAs(meta) }
  async setMeta (path: string, meta: LocalMeta): Promise<void> { await this.index.setMeta(path, meta) }
}
