import { join } from 'node:path'
import { utimes } from 'node:fs/promises'
import { ClassicLevel } from 'classic-level'
import { encode, decode } from 'cborg'
import type { PrivateKey } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { FolderStore, type FolderDb } from '../src/store/folder-store.ts'
import { encodeSignedRecord, type SignedRecord } from '../src/log/signed-record.ts'
import { STRICT_CBOR } from '../src/log/record-codec.ts'
import { AsyncLock } from '../src/store/async-lock.ts'
import { FerryError } from '../src/errors.ts'
import { BlockStore } from './block-store.ts'
import type { ReplicaFolder } from '../protocols/replica/index.ts'
import { SegmentIndexes } from '../protocols/index/index.ts'

/** Where a relay keeps its data inside --home. */
export const RELAY_DIR = 'relay'
export const HISTORY_PREFIX = 'h:'

/** A superseded record kept for the retention period: when it was superseded, and its envelope. */
export interface HistoryEntry { key: string, supersededAtMs: number, envelope: Uint8Array }

export function decodeHistory (key: string, value: Uint8Array): HistoryEntry {
  const v = decode(value, STRICT_CBOR) as unknown
  if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'number' || !(v[1] instanceof Uint8Array)) {
    throw new FerryError(`history entry ${key} is malformed`, 'ERR_FERRY_BAD_HISTORY')
  }
  return { key, supersededAtMs: v[0], envelope: v[1] }
}

export interface RelayFolder {
  id: string
  store: FolderStore
  db: FolderDb
  /** devices that shared this folder with the relay */
  members: Set<string>
}

/**
 * The relay's data: one level database (`relay/db`) with a registry of folders (`folders`
 * sublevel: id -> members) and one FolderStore per folder (newest record per (device, path),
 * plus superseded records under `h:` for history), and a content-addressed BlockStore shared by
 * all folders (`relay/blocks`). Every write is fsynced before it is acknowledged.
 */
export class RelayStore {
  readonly home: string
  readonly blocks: BlockStore
  private readonly db: ClassicLevel<string, Uint8Array>
  private readonly registry
  private readonly self: string
  private readonly key: PrivateKey
  private readonly folders = new Map<string, RelayFolder>()
  private readonly lock = new AsyncLock()
  /** block-list segments of each folder's records, for replica/2 sessions (one index per folder store) */
  private readonly segments = new SegmentIndexes()
  /** block bytes received since start (for status and tests) */
  receivedBlockBytes = 0
  receivedBlocks = 0

  constructor (opts: { home: string, self: string, key: PrivateKey }) {
    this.home = opts.home
    this.self = opts.self
    this.key = opts.key
    this.db = new ClassicLevel<string, Uint8Array>(join(opts.home, RELAY_DIR, 'db'), { valueEncoding: 'view' })
    this.registry = this.db.sublevel<string, string>('folders', { valueEncoding: 'utf8' })
    this.blocks = new BlockStore(join(opts.home, RELAY_DIR, 'blocks'))
  }

  async open (): Promise<void> {
    try {
      await this.db.open()
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause
      if (cause?.code === 'LEVEL_LOCKED') throw new FerryError(`the relay database in ${this.home} is in use by another ferry process`, 'ERR_FERRY_DB_LOCKED', 'stop the running relay first')
      throw err
    }
    await this.blocks.open()
    for await (const [id, value] of this.registry.iterator()) {
      const members = JSON.parse(value) as { members: string[] }
      await this.openFolder(id, new Set(members.members))
    }
  }

  async close (): Promise<void> {
    await this.db.close()
  }

  private async openFolder (id: string, members: Set<string>): Promise<RelayFolder> {
    const db = this.db.sublevel<string, Uint8Array>(`f:${id}`, { valueEncoding: 'view' }) as unknown as FolderDb
    const store = new FolderStore({
      db,
      folder: id,
      self: this.self,
      key: this.key,
      syncWrites: true,
      // history: the store moves a superseded record to `h:` in the same batch that drops it
      // (src/history/record-history.ts)
    })
    await store.open()
    const f: RelayFolder = { id, store, db, members }
    this.folders.set(id, f)
    return f
  }

  folder (id: string): RelayFolder | undefined {
    return this.folders.get(id)
  }

  list (): RelayFolder[] {
    return [...this.folders.values()]
  }

  isMember (folder: string, device: string): boolean {
    return this.folders.get(folder)?.members.has(device) === true
  }

  /** Makes `device` a member of `folder` (creating it), durably. The caller checked trust. */
  async join (folder: string, device: string): Promise<RelayFolder> {
    return await this.lock.run(async () => {
      const existing = this.folders.get(folder)
      if (existing?.members.has(device) === true) return existing
      const members = new Set(existing?.members ?? [])
      members.add(device)
      await this.registry.put(folder, JSON.stringify({ members: [...members].sort() }), { sync: true } as Record<string, unknown>)
      if (existing !== undefined) {
        existing.members.add(device)
        return existing
      }
      return await this.openFolder(folder, members)
    })
  }

  /**
   * The subset of `cids` not stored. Held blocks get their mtime refreshed: garbage collection
   * spares recently touched blocks, so a block a device was just told not to send survives until
   * the record that references it arrives.
   */
  async lacking (cids: readonly CID[]): Promise<CID[]> {
    const out: CID[] = []
    const now = new Date()
    for (const cid of cids) {
      try { await utimes(this.blocks.pathOf(cid), now, now) } catch { out.push(cid) }
    }
    return out
  }

  async putBlock (cid: CID, data: Uint8Array): Promise<void> {
    await this.blocks.put(cid, data)
    this.receivedBlockBytes += data.byteLength
    this.receivedBlocks++
  }

  async putRecords (folder: string, records: readonly SignedRecord[]): Promise<number> {
    const f = this.folders.get(folder)
    if (f === undefined) throw new FerryError(`no folder ${folder} on this relay`, 'ERR_FERRY_FOLDER_NOT_FOUND')
    return await f.store.acceptRemote(records)
  }

  /**
   * `folder` as an upload session from `device` sees it (joining it, durably). The caller checked
   * trust. Skeletons of /ferry/replica/2 are filled in from the folder's current records (every
   * device's newest per path: the uploader's previous version of a file is among them).
   */
  async replicaFolder (folder: string, device: string): Promise<ReplicaFolder> {
    const f = await this.join(folder, device)
    return {
      positions: () => f.store.positionVector(),
      lacking: async cids => await this.lacking(cids),
      putBlock: async (cid, data) => { await this.putBlock(cid, data) },
      putRecords: async records => await this.putRecords(folder, records),
      segments: this.segments.of(f.store)
    }
  }

  /** Superseded records of one folder, oldest key first. */
  async * history (folder: RelayFolder): AsyncGenerator<HistoryEntry> {
    for await (const [key, value] of folder.db.iterator({ gte: HISTORY_PREFIX, lt: 'h;' })) {
      yield decodeHistory(key, value)
    }
  }

  async deleteHistory (folder: RelayFolder, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return
    await folder.db.batch(keys.map(key => ({ type: 'del' as const, key })), { sync: true } as Record<string, unknown>)
  }

  /** Current records of one folder (every device's newest per path). */
  async * currentRecords (folder: RelayFolder): AsyncGenerator<{ key: string, value: Uint8Array }> {
    for await (const [key, value] of folder.db.iterator({ gte: 'r:', lt: 'r;' })) yield { key, value }
  }
}
