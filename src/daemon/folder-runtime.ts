import type { DeviceLabel } from '../sync/planner.ts'
import type { ClassicLevel } from 'classic-level'
import { logger } from '@libp2p/logger'
import type { PrivateKey } from '@libp2p/interface'
import { loadConfig, saveConfig, type Config, type FolderConfig } from '../config/config.ts'
import { recordFolderFsid } from '../config/config-changes.ts'
import { FolderStore } from '../store/folder-store.ts'
import { folderSublevel } from '../store/keys.ts'
import { FolderSync, type FolderEvent } from '../sync/folder-sync.ts'
import { FetchCoalescer } from '../sync/fetch-coalescer.ts'
import type { BlockFetcher } from '../sync/block-fetcher.ts'
import type { EventSink } from '../events/node-events.ts'
import { FolderTrash } from '../history/folder-trash.ts'
import { trackFileEvents } from '../events/file-events.ts'
import type { Membership } from '../access/membership.ts'
import { RetentionSweeper } from '../history/retention.ts'
import { ReadOnlyFolders } from '../sharing/read-only.ts'
import type { SealedFolders } from '../replica/sealed-folders.ts'

/** What the running folders need of the daemon. */
export interface FolderRuntimeComponents {
  /** the running folders by id (paused and removed ones are not here); the runtime fills it */
  folders: Map<string, FolderSync>
  home: string
  db: ClassicLevel<string, Uint8Array>
  self: string
  key: PrivateKey
  /** where the folders' file events go (src/events/file-events.ts) */
  events: EventSink
  fetcher: BlockFetcher
  /** where blocks live on the folders' relays (learned again for a version when unknown) */
  sealed?: SealedFolders
  membership: Membership
  /** the current config (swapped on reload) */
  config: () => Config
  isConnected: (peer: string) => boolean
  onEvent: (e: FolderEvent) => void
  /** a folder's sync started */
  onStarted: (id: string, folder: FolderConfig) => void
  rescanIntervalMs?: number
  /** how conflict copies name a device (read per plan: a rename applies after a reload) */
  deviceLabel: DeviceLabel
}

/**
 * The daemon's running folders: for each configured folder that is not paused, its store (a
 * sublevel of the daemon's database), its FolderSync (fetching blocks from the members that
 * hold them) and its file event tracker.
 */
export class FolderRuntime {
  private readonly folders: Map<string, FolderSync>
  private readonly fileEventTrackers = new Map<string, () => void>()
  private readonly c: FolderRuntimeComponents
  /** a read-only member's local changes: status fields and POST /revert */
  readonly readOnly: ReadOnlyFolders
  /** empties the folders' trash and forgets superseded records after their retention */
  private readonly retention = new RetentionSweeper({
    folders: () => [...this.folders].map(([id, sync]) => ({ id, root: sync.root, store: sync.store, trashChanged: () => sync.refreshTrash(), ...this.c.config().folders[id] })),
    log: logger('ferry:retention')
  })

  constructor (c: FolderRuntimeComponents) {
    this.c = c
    this.folders = c.folders
    this.readOnly = new ReadOnlyFolders({
      folder: id => this.folders.get(id),
      ownRole: id => this.c.config().folders[id]?.role,
      acceptsChangesFrom: (folder, device) => this.c.membership.acceptsChangesFrom(folder, device)
    })
  }

  /** starts every configured folder that is not paused and not running yet */
  async startFolders (): Promise<void> {
    for (const [id, fc] of Object.entries(this.c.config().folders)) {
      if (this.folders.has(id) || fc.paused === true) continue
      const store = new FolderStore({ db: folderSublevel(this.c.db, id), folder: id, self: this.c.self, key: this.c.key })
      await store.open()
      this.fileEventTrackers.set(id, trackFileEvents(store, this.c.events))
      const coalescer = new FetchCoalescer(id, async (peers, wanted, onBlock, signal) => await this.c.fetcher.fetchSome(id, peers, wanted, onBlock, signal))
      const membership = this.c.membership
      const sync = new FolderSync({
        folder: id,
        root: fc.path,
        store,
        log: logger(`ferry:sync:${id}`),
        acceptsChangesFrom: device => membership.acceptsChangesFrom(id, device),
        fetchBlocks: async (record, wanted, onBlock, signal) => {
          // peers known to hold this version; if none is connected, any member may have the blocks;
          // replicas (relays) hold every uploaded block, so they are always asked too
          // (looked up again while the file is fetched: a holder that connects later joins in)
          const peersNow = (): string[] => {
            const holders = store.holdersOf(record).filter(p => this.c.isConnected(p) && membership.mayRead(id, p))
            return holders.length > 0 ? [...holders, ...membership.replicasOf(id)] : membership.membersOf(id)
          }
          const relays = membership.replicasOf(id).filter(p => this.c.isConnected(p))
          if (relays.length > 0) await this.c.sealed?.learn(id, relays, record.path, wanted.map(w => w.cid))
          await coalescer.fetch(peersNow(), wanted, onBlock, signal, peersNow)
        },
        trash: new FolderTrash({ root: fc.path, store }),
        onEvent: e => this.c.onEvent(e),
        settings: () => this.c.config().folders[id] ?? {},
        recordFsid: async fsid => { await this.recordFsid(id, fsid) },
        deviceLabel: this.c.deviceLabel
      })
      this.folders.set(id, sync)
      await sync.start(this.c.rescanIntervalMs === undefined ? {} : { rescanIntervalMs: this.c.rescanIntervalMs })
      this.c.onStarted(id, fc)
    }
  }

  /** stops the running folders for which `keep` says no (paused or removed on reload) */
  async stopUnless (keep: (id: string) => boolean): Promise<void> {
    for (const [id, sync] of this.folders) {
      if (!keep(id)) {
        await sync.stop()
        this.folders.delete(id)
        this.fileEventTrackers.get(id)?.()
        this.fileEventTrackers.delete(id)
      }
    }
  }

  startRetention (): void {
    this.retention.start()
  }

  /** the retention sweeper, then every folder */
  async stop (): Promise<void> {
    await this.retention.stop()
    for (const sync of this.folders.values()) await sync.stop()
    for (const stop of this.fileEventTrackers.values()) stop()
  }

  /** a folder from before file system ids gets its own recorded (config `fsid`), once */
  private async recordFsid (id: string, fsid: string): Promise<void> {
    const config = await loadConfig(this.c.home)
    if (!recordFolderFsid(config, id, fsid)) return
    await saveConfig(this.c.home, config)
    const live = this.c.config().folders[id]
    if (live !== undefined) live.fsid = fsid
  }
}
