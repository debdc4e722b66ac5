import { join } from 'node:path'
import { stat, utimes } from 'node:fs/promises'
import { ClassicLevel } from 'classic-level'
import type { CID } from 'multiformats/cid'
import { RecordLog, type HistoryEntry } from '../../src/store/record-log.ts'
import { folderSublevel } from '../../src/store/keys.ts'
import type { SignedRecord } from '../../src/log/signed-record.ts'
import { AsyncLock } from '../../src/store/async-lock.ts'
import { FerryError } from '../../src/errors.ts'
import { BlockStore } from './block-store.ts'
import { ERR_SEALED_FOLDER, ReplicaRefusal, type ReplicaFolder } from '../../protocols/replica/index.ts'
import { referencedBlocks, type SealMigration } from './seal-migration.ts'
import { SegmentIndexes } from '../../protocols/index/index.ts'

/** Where a relay keeps its data inside --home. */
export const RELAY_DIR = 'relay'

export interface RelayFolder {
  id: string
  /** the folder's records (every device's newest per path, and history) */
  log: RecordLog
  /** devices that shared this folder with the relay */
  members: Set<string>
  /** uploaded sealed (replica/3): the relay holds only ciphertext of it, and takes nothing else */
  sealed: boolean
}

/**
 * The relay's data: one level database (`relay/db`) with a registry of folders (`folders`
 * sublevel: id -> members) and one record log per folder (newest record per (device, path),
 * plus superseded records as history, in the same layout as on devices: src/store/keys.ts), and
 * a content-addressed BlockStore shared by all folders (`relay/blocks`). Every write is fsynced
 * before it is acknowledged.
 */
export class RelayStore {
  readonly home: string
  readonly blocks: BlockStore
  private readonly db: ClassicLevel<string, Uint8Array>
  private readonly registry
  private readonly self: string
  private readonly folders = new Map<string, RelayFolder>()
  private readonly lock = new AsyncLock()
  /** block-list segments of each folder's records, for replica/2 sessions (one index per folder store) */
  private readonly segments = new SegmentIndexes()
  /** block bytes received since start (for status and tests) */
  receivedBlockBytes = 0
  receivedBlocks = 0
  /** told when a folder switched to sealed (what was dropped) */
  onSealed?: (m: SealMigration) => void

  constructor (opts: { home: string, self: string }) {
    this.home = opts.home
    this.self = opts.self
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
      const entry = JSON.parse(value) as { members: string[], sealed?: boolean }
      await this.openFolder(id, new Set(entry.members), entry.sealed === true)
    }
  }

  async close (): Promise<void> {
    await this.db.close()
  }

  private async openLog (id: string): Promise<RecordLog> {
    // the relay commits nothing of its own: the store's local index stays empty
    const log = new RecordLog({ db: folderSublevel(this.db, id), folder: id, self: this.self, syncWrites: true })
    await log.open()
    return log
  }

  private async openFolder (id: string, members: Set<string>, sealed = false): Promise<RelayFolder> {
    const f: RelayFolder = { id, log: await this.openLog(id), members, sealed }
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
      await this.registry.put(folder, JSON.stringify({ members: [...members].sort(), ...(existing?.sealed === true ? { sealed: true } : {}) }), { sync: true } as Record<string, unknown>)
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
    return await f.log.acceptRemote(records)
  }

  /**
   * `folder` as an upload session from `device` sees it (joining it, durably). The caller checked
   * trust. Skeletons of /ferry/replica/2 are filled in from the folder's current records (every
   * device's newest per path: the uploader's previous version of a file is among them).
   */
  async replicaFolder (folder: string, device: string, options: { sealed: boolean } = { sealed: false }): Promise<ReplicaFolder> {
    const f = await this.join(folder, device)
    if (options.sealed && !f.sealed) this.onSealed?.(await this.seal(f))
    if (!options.sealed && f.sealed) throw new ReplicaRefusal(ERR_SEALED_FOLDER, `this relay holds folder ${folder} sealed (encrypted): upgrade ferry on this device`)
    return {
      positions: () => f.log.positionVector(),
      lacking: async cids => await this.lacking(cids),
      putBlock: async (cid, data) => { await this.putBlock(cid, data) },
      putRecords: async records => await this.putRecords(folder, records),
      segments: this.segments.of(f.log)
    }
  }

  /**
   * Switches `f` to sealed: its records and history from plaintext uploads are dropped (the
   * devices upload them again, sealed), and so are the blocks no other folder references, at
   * once (not after the grace period: they are plaintext). Durable before it resolves.
   */
  private async seal (f: RelayFolder): Promise<SealMigration> {
    return await this.lock.run(async () => {
      const plain = await referencedBlocks([f.log])
      await folderSublevel(this.db, f.id).clear()
      await this.registry.put(f.id, JSON.stringify({ members: [...f.members].sort(), sealed: true }), { sync: true } as Record<string, unknown>)
      // deleted entries stay in LevelDB's files until compacted: compact, so no plaintext stays on disk
      await this.db.compactRange('\x00', '\uffff')
      f.sealed = true
      f.log = await this.openLog(f.id)
      const elsewhere = await referencedBlocks(this.list().filter(o => o !== f).map(o => o.log))
      const report: SealMigration = { folder: f.id, records: plain.records, blocks: 0, bytes: 0 }
      for (const [k, cid] of plain.blocks) {
        if (elsewhere.blocks.has(k)) continue
        const size = await stat(this.blocks.pathOf(cid)).then(s => s.size, () => undefined)
        if (size === undefined) continue
        await this.blocks.delete(cid)
        report.blocks++
        report.bytes += size
      }
      return report
    })
  }

  /** Superseded records of one folder, oldest key first. */
  history (folder: RelayFolder): AsyncGenerator<HistoryEntry> {
    return folder.log.allHistory()
  }
}
