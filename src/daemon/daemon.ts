import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { logger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { loadConfig, readConfig, saveConfig, type Config } from '../config/config.ts'
import { deviceIdOf, loadDeviceKey } from '../identity/device-key.ts'
import { FolderStore, type FolderDb } from '../store/folder-store.ts'
import { FolderSync, type FolderEvent, type FolderStatus } from '../sync/folder-sync.ts'
import type { TransferStatus } from '../sync/transfer-progress.ts'
import { printablePath } from '../sync/path-errors.ts'
import { BlockFetcher } from '../sync/block-fetcher.ts'
import { FetchCoalescer } from '../sync/fetch-coalescer.ts'
import { createNode, DEFAULT_LISTEN, type FerryNode, type NodeOptions } from '../node/create-node.ts'
import { INDEX_PROTOCOLS, serveIndex } from '../../protocols/index/index.ts'
import { BLOCKS_PROTOCOLS, serveBlocks } from '../../protocols/blocks/index.ts'
import { DEFAULT_MAX_INBOUND_STREAMS as INDEX_MAX_STREAMS } from '../../protocols/index/constants.ts'
import { DEFAULT_MAX_INBOUND_STREAMS as BLOCKS_MAX_STREAMS } from '../../protocols/blocks/constants.ts'
import { toError } from '../../protocols/wire/errors.ts'
import { IndexSubscriptions, type IndexTraffic } from './index-subscriptions.ts'
import { FerryError } from '../errors.ts'
import { ControlServer } from './control-server.ts'
import { describeStartError } from './start-error.ts'
import { peerIdOf } from './peer-ids.ts'
import { HttpApi } from '../api/http-api.ts'
import { readRoutes } from '../api/read-routes.ts'
import type { Routes } from '../api/router.ts'
import { EventStreams } from '../api/sse.ts'
import { DaemonMetrics } from '../metrics/daemon-metrics.ts'
import { metricsRoute } from '../metrics/metrics-route.ts'
import { EventBus } from '../events/event-bus.ts'
import { trackFileEvents } from '../events/file-events.ts'
import { DEFAULT_JOIN_WINDOW_MS, SharingService } from '../sharing/sharing-service.ts'
import { ReadOnlyFolders, type ReadOnlyStatus } from '../sharing/read-only.ts'
import { JOIN_PROTOCOL } from '../../protocols/join/index.ts'
import { DEFAULT_MAX_INBOUND_STREAMS as JOIN_MAX_STREAMS } from '../../protocols/join/constants.ts'
import { Membership } from './membership.ts'
import { historyRoutes } from './history-routes.ts'
import { folderGuardRoutes, reportGuardEvent } from './folder-guard-routes.ts'
import { folderControlRoutes, pausedFolderStatus } from './folder-control-routes.ts'
import { folderSublevel } from '../store/open-offline.ts'
import { HISTORY_PROTOCOL } from '../../protocols/history/index.ts'
import { askRelaysForHistory } from '../replica/relay-history.ts'
import type { RemoteHistory } from '../history/revisions.ts'
import { RetentionSweeper } from '../history/retention.ts'
import { ReplicaUploads } from '../replica/replica-uploads.ts'
import { REPLICA_PROTOCOLS } from '../../protocols/replica/index.ts'
import { DeviceDialer } from './device-dialer.ts'
import { onlyTrusted } from '../node/stranger-guard.ts'

export interface DaemonOptions {
  home: string
  listen?: string[]
  mdns?: boolean
  /** human-readable log lines (the CLI prints them) */
  print: (line: string) => void
  /** called every second with the files being received (empty when none) */
  onProgress?: (transfers: TransferStatus[]) => void
  rescanIntervalMs?: number
  /** port of the local HTTP API on 127.0.0.1; 0 (default): any free port (see `<home>/api.json`) */
  apiPort?: number
  /** `GET /metrics` also has the process's own metrics (`process_*`, `nodejs_*`): one daemon per process */
  processMetrics?: boolean
  /** libp2p transports instead of TCP (the simulator's in-memory one; see NodeOptions) */
  transports?: NodeOptions['transports']
}

export interface PeerStatus { id: string, name?: string, connected: boolean, addrs: string[] }
export interface DaemonStatus {
  deviceId: string
  listenAddrs: string[]
  peers: PeerStatus[]
  folders: Array<FolderStatus & Partial<ReadOnlyStatus> & {
    /** present when the folder has a replica member: it holds every local block and record */
    replicaInSync?: boolean
    /** block bytes the folder's replicas acknowledged since start */
    replicaSentBytes?: number
    /** config `paused` (`ferry folder pause`): the folder is not synced */
    paused?: true
  }>
  /** block bytes received per peer since start */
  receivedBytes: Record<string, number>
  /** per peer, since start, on our index subscriptions to it: records received, bytes of index messages both ways */
  indexTraffic: Record<string, IndexTraffic>
}

export type { IndexTraffic }

export const DEFAULT_DIAL_INTERVAL_MS = 3_000
const DIAL_TIMEOUT_MS = 10_000
/** one line per config entry skipped; more are counted */
const MAX_SKIPPED_LINES = 20
const PROGRESS_INTERVAL_MS = 1_000

/**
 * `ferry start`: one libp2p node, one FolderSync per folder, index subscriptions to every
 * connected member, the block server, a dial loop for trusted devices, and the control API.
 */
export class Daemon {
  private readonly opts: DaemonOptions
  private readonly log = logger('ferry:daemon')
  private readonly key: PrivateKey
  readonly self: string
  private readonly membership: Membership
  private config: Config
  private readonly db: ClassicLevel<string, Uint8Array>
  private readonly folders = new Map<string, FolderSync>()
  private node?: FerryNode
  private readonly fetcher: BlockFetcher
  private readonly subscriptions: IndexSubscriptions
  private readonly dialer: DeviceDialer
  private readonly control: ControlServer
  private readonly api: HttpApi
  /** what `GET /events` streams */
  readonly events = new EventBus()
  /** what `GET /metrics` serves (src/metrics/daemon-metrics.ts) */
  private readonly metrics: DaemonMetrics
  private readonly fileEventTrackers = new Map<string, () => void>()
  private readonly sharing: SharingService
  private readonly readOnly: ReadOnlyFolders
  private readonly replicas: ReplicaUploads
  private dialTimer?: NodeJS.Timeout
  private progressTimer?: NodeJS.Timeout
  private stopped = false
  private readonly retention = new RetentionSweeper({
    folders: () => [...this.folders].map(([id, sync]) => ({ id, root: sync.root, store: sync.store, trashChanged: () => sync.refreshTrash(), ...this.config.folders[id] })),
    log: logger('ferry:retention')
  })

  private constructor (opts: DaemonOptions, key: PrivateKey, config: Config, skipped: string[]) {
    this.opts = opts
    this.key = key
    this.self = deviceIdOf(key)
    this.config = config
    this.membership = new Membership(this.self, config)
    this.reportSkipped(skipped)
    this.dialer = new DeviceDialer({
      node: () => this.requireNode(),
      devices: () => this.config.devices,
      isTrusted: peer => this.membership.isTrusted(peer),
      isConnected: peer => this.isConnected(peer),
      relays: () => this.relays(),
      stopped: () => this.stopped,
      log: this.log
    })
    this.db = new ClassicLevel<string, Uint8Array>(join(opts.home, 'db'), { valueEncoding: 'view' })
    this.subscriptions = new IndexSubscriptions({
      folders: this.folders,
      foldersSharedWith: peer => this.membership.foldersSharedWith(peer),
      mayRead: (folder, peer) => this.membership.mayRead(folder, peer),
      isConnected: peer => this.isConnected(peer),
      dialIndex: async (peer, protocols, signal) => await this.requireNode().dialProtocol(peer, protocols, { signal }),
      peerIdOf,
      hangUp: (peer, reason) => { this.hangUp(peer, reason) },
      stopped: () => this.stopped
    })
    this.fetcher = new BlockFetcher({
      openBlocksStream: async (peer, signal) => {
        const timeout = AbortSignal.timeout(DIAL_TIMEOUT_MS)
        return await this.requireNode().dialProtocol(peerIdOf(peer), [...BLOCKS_PROTOCOLS], { signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]) })
      },
      isConnected: peer => this.isConnected(peer),
      hangUp: (peer, reason) => this.hangUp(peer, reason),
      log: logger('ferry:sync:fetch')
    })
    this.replicas = new ReplicaUploads({
      stores: () => new Map([...this.folders].map(([id, sync]) => [id, sync.store])),
      replicasOf: folder => this.membership.replicasOf(folder),
      readBlock: async (folder, cid) => await this.folders.get(folder)?.readBlock(cid),
      openStream: async (peer, signal) => {
        const timeout = AbortSignal.timeout(DIAL_TIMEOUT_MS)
        return await this.requireNode().dialProtocol(peerIdFromString(peer), [...REPLICA_PROTOCOLS], { signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]) })
      },
      isConnected: peer => this.isConnected(peer),
      hangUp: (peer, reason) => this.hangUp(peer, reason)
    })
    this.sharing = new SharingService({
      home: opts.home,
      self: this.self,
      listenAddrs: () => this.requireNode().getMultiaddrs().map(m => m.toString()),
      events: this.events,
      reload: async () => { await this.reload() },
      print: line => this.opts.print(line),
      log: logger('ferry:join:server')
    })
    this.readOnly = new ReadOnlyFolders({
      folder: id => this.folders.get(id),
      ownRole: id => this.config.folders[id]?.role,
      acceptsChangesFrom: (folder, device) => this.membership.acceptsChangesFrom(folder, device)
    })
    // one route table for the CLI's unix socket and the token-guarded HTTP API
    const readOnlyRoutes = this.readOnly.routes()
    const routes: Routes = {
      ...this.sharing.routes(),
      ...readOnlyRoutes,
      // POST /confirm-deletes; POST /revert also reverts held deletes (mass-delete protection)
      ...folderGuardRoutes({ folder: id => this.folders.get(id), isReadOnly: id => this.config.folders[id]?.role === 'read-only', readOnlyRevert: readOnlyRoutes['POST /revert']! }),
      // POST /rescan
      ...folderControlRoutes({ folder: id => this.folders.get(id), folderConfig: id => this.config.folders[id], clearRecords: async id => { await folderSublevel(this.db, id).clear() } }),
      'GET /status': async () => this.status(),
      'POST /reload': async () => { await this.reload(); return { ok: true } },
      ...readRoutes({ status: () => this.status(), config: () => this.config }),
      // GET /conflicts, /revisions, /deleted; POST /restore
      ...historyRoutes({ folders: () => this.folders, config: () => this.config, remoteHistory: async (folder, path) => await this.relayHistory(folder, path) })
    }
    this.control = new ControlServer(opts.home, routes)
    const eventStreams = new EventStreams(this.events)
    this.metrics = new DaemonMetrics({ status: () => this.node === undefined ? undefined : this.status(), eventStreams: () => eventStreams.stats(), blocksFetched: () => this.fetcher.receivedBlocks, ...(opts.processMetrics === true ? { processMetrics: true } : {}) })
    this.api = new HttpApi({ home: opts.home, port: opts.apiPort ?? 0, routes, streams: { 'GET /events': eventStreams.route, 'GET /metrics': metricsRoute(async () => await this.metrics.scrape()) } })
  }

  static async open (opts: DaemonOptions): Promise<Daemon> {
    const key = await loadDeviceKey(opts.home)
    const { config, skipped } = await readConfig(opts.home)
    return new Daemon(opts, key, config, skipped)
  }

  private requireNode (): FerryNode {
    if (this.node === undefined) throw new FerryError('node not started', 'ERR_FERRY_NOT_STARTED')
    return this.node
  }

  async start (): Promise<void> {
    await this.control.start()
    try {
      await this.db.open()
    } catch (err) {
      await this.control.stop()
      const cause = (err as { cause?: { code?: string } }).cause
      if (cause?.code === 'LEVEL_LOCKED') throw new FerryError(`the database in ${this.opts.home} is in use by another ferry process`, 'ERR_FERRY_DB_LOCKED')
      throw err
    }
    try {
      await this.sharing.start()
      await this.api.start()
    } catch (err) {
      await this.control.stop()
      await this.db.close()
      throw err
    }
    try {
      await this.startNetwork()
    } catch (err) {
      // leave nothing behind: api.json, the socket, the database lock, a node that listens
      await this.stop().catch(() => {})
      throw describeStartError(err)
    }
  }

  /** The node, its protocols, the folders and timers: `start` undoes everything if this fails. */
  private async startNetwork (): Promise<void> {
    const node = await createNode({
      privateKey: this.key,
      listen: this.opts.listen ?? DEFAULT_LISTEN,
      isTrusted: id => this.membership.isTrusted(id),
      // a pending invitation lets strangers connect, for /ferry/join/1 only: every other protocol
      // refuses them (onlyTrusted), and the connection is closed once the join is over or after
      // a while (peer:connect)
      admitsStrangers: () => this.sharing.admitsStrangers(),
      mdns: this.opts.mdns ?? true,
      // reachable through a relay only if we use one (a relay added later counts after a restart)
      circuitListen: Object.values(this.config.folders).some(f => Object.values(f.members).includes('replica')),
      ...(this.opts.transports === undefined ? {} : { transports: this.opts.transports })
    })
    this.node = node
    // /ferry/index/2 (record deltas) and /1 for older peers; serveIndex reads stream.protocol
    const trusted = (peer: string): boolean => this.membership.isTrusted(peer)
    await node.handle([...INDEX_PROTOCOLS], onlyTrusted(trusted, async (stream, connection) => {
      await serveIndex(stream, connection.remotePeer.toString(), {
        folderStore: (peer, folder) => this.membership.mayRead(folder, peer) ? this.folders.get(folder)?.store : undefined,
        log: logger('ferry:index:server')
      })
    }), { maxInboundStreams: INDEX_MAX_STREAMS })
    // /ferry/blocks/2 and, for older peers, /1 (raw blocks only); one handler, it reads stream.protocol
    await node.handle([...BLOCKS_PROTOCOLS], onlyTrusted(trusted, async (stream, connection) => {
      await serveBlocks(stream, connection.remotePeer.toString(), {
        mayRead: (peer, folder) => this.membership.mayRead(folder, peer) && this.folders.has(folder),
        readBlock: async (folder, cid) => this.metrics.served(connection.remotePeer.toString(), await this.readBlock(folder, cid)),
        log: logger('ferry:blocks:server')
      })
    }), { maxInboundStreams: BLOCKS_MAX_STREAMS })
    await node.handle(JOIN_PROTOCOL, async (stream, connection) => {
      const peer = connection.remotePeer.toString()
      try {
        await this.sharing.handleJoin(stream, peer)
      } finally {
        // a stranger's connection was for this join only (a new member reconnects as trusted)
        if (!this.membership.isTrusted(peer)) await connection.close().catch(() => {})
      }
    }, { maxInboundStreams: JOIN_MAX_STREAMS })
    node.addEventListener('peer:connect', e => {
      const peer = e.detail.toString()
      this.dialer.connected(peer)
      if (!this.membership.isTrusted(peer)) {
        // admitted for a join: it gets that long to finish
        setTimeout(() => { if (!this.membership.isTrusted(peer)) void this.node?.hangUp(e.detail).catch(() => {}) }, DEFAULT_JOIN_WINDOW_MS).unref()
        return
      }
      this.opts.print(`peer connected: ${this.nameOf(peer)}`)
      this.events.publish({ type: 'peer.connected', device: peer, ...this.nameField(peer) })
      this.subscriptions.ensure(peer)
      this.replicas.peerConnected(peer)
      for (const f of this.membership.foldersSharedWith(peer)) this.folders.get(f)?.requestSync()
    })
    node.addEventListener('peer:disconnect', e => {
      const peer = e.detail.toString()
      this.dialer.disconnected(peer)
      if (!this.membership.isTrusted(peer)) return
      this.opts.print(`peer disconnected: ${this.nameOf(peer)}`)
      this.events.publish({ type: 'peer.disconnected', device: peer, ...this.nameField(peer) })
    })
    node.addEventListener('peer:discovery', e => {
      const peer = e.detail.id.toString()
      if (this.membership.isTrusted(peer) && !this.isConnected(peer)) void this.dialer.dial(peer)
    })
    await node.start()
    for (const ma of node.getMultiaddrs()) this.opts.print(`listening on ${ma.toString()}`)
    this.opts.print(`device id ${this.self}`)
    await this.startFolders()
    this.opts.print(`HTTP API on http://127.0.0.1:${this.api.port} (port and token in ${join(this.opts.home, 'api.json')})`)
    this.retention.start()
    this.replicas.update()
    // peers that connected while the folders were starting found none to subscribe to
    for (const conn of node.getConnections()) {
      const peer = conn.remotePeer.toString()
      this.subscriptions.ensure(peer)
      this.replicas.peerConnected(peer)
    }
    this.dialTimer = setInterval(() => this.dialer.dialAll(), DEFAULT_DIAL_INTERVAL_MS)
    const onProgress = this.opts.onProgress
    this.progressTimer = setInterval(() => {
      const transfers = this.transfers()
      onProgress?.(transfers)
      for (const t of transfers) this.events.publish({ type: 'transfer.progress', folder: t.folder, path: t.path, sizeBytes: t.sizeBytes, doneBytes: t.doneBytes, bytesPerSecond: t.bytesPerSecond })
    }, PROGRESS_INTERVAL_MS)
    this.dialer.dialAll()
  }

  /** config entries that did not pass the checks: one line each, the daemon runs without them */
  private reportSkipped (skipped: readonly string[]): void {
    for (const line of skipped.slice(0, MAX_SKIPPED_LINES)) this.opts.print(`config: skipped ${line}`)
    if (skipped.length > MAX_SKIPPED_LINES) this.opts.print(`config: skipped ${skipped.length - MAX_SKIPPED_LINES} more entries`)
  }

  private nameField (peer: string): { name?: string } {
    const name = this.config.devices[peer]?.name
    return name === undefined ? {} : { name }
  }

  private nameOf (peer: string): string {
    const name = this.config.devices[peer]?.name
    return name === undefined ? peer : `${name} (${peer})`
  }

  private async startFolders (): Promise<void> {
    for (const [id, fc] of Object.entries(this.config.folders)) {
      if (this.folders.has(id) || fc.paused === true) continue
      const store = new FolderStore({ db: this.db.sublevel<string, Uint8Array>(`f:${id}`, { valueEncoding: 'view' }) as unknown as FolderDb, folder: id, self: this.self, key: this.key })
      await store.open()
      this.fileEventTrackers.set(id, trackFileEvents(store, this.events))
      const coalescer = new FetchCoalescer(id, async (peers, wanted, onBlock, signal) => await this.fetcher.fetchSome(id, peers, wanted, onBlock, signal))
      const sync = new FolderSync({
        folder: id,
        root: fc.path,
        store,
        log: logger(`ferry:sync:${id}`),
        acceptsChangesFrom: device => this.membership.acceptsChangesFrom(id, device),
        fetchBlocks: async (record, wanted, onBlock, signal) => {
          // peers known to hold this version; if none is connected, any member may have the blocks;
          // replicas (relays) hold every uploaded block, so they are always asked too
          const holders = store.holdersOf(record).filter(p => this.isConnected(p) && this.membership.mayRead(id, p))
          const peers = holders.length > 0 ? [...holders, ...this.membership.replicasOf(id)] : this.membership.membersOf(id)
          await coalescer.fetch(peers, wanted, onBlock, signal)
        },
        onEvent: e => this.report(e),
        settings: () => this.config.folders[id] ?? {},
        recordFsid: async fsid => { await this.recordFsid(id, fsid) }
      })
      this.folders.set(id, sync)
      await sync.start(this.opts.rescanIntervalMs === undefined ? {} : { rescanIntervalMs: this.opts.rescanIntervalMs })
      this.opts.print(`folder ${id} at ${fc.path}`)
    }
  }

  /** a folder from before file system ids gets its own recorded (config `fsid`), once */
  private async recordFsid (id: string, fsid: string): Promise<void> {
    const config = await loadConfig(this.opts.home)
    const fc = config.folders[id]
    if (fc === undefined || fc.fsid !== undefined) return
    fc.fsid = fsid
    await saveConfig(this.opts.home, config)
    const live = this.config.folders[id]
    if (live !== undefined) live.fsid = fsid
  }

  private report (e: FolderEvent): void {
    switch (e.type) {
      case 'stopped': case 'resumed': case 'deletes-held': case 'deletes-confirmed': reportGuardEvent(e, this.events, this.opts.print); break
      case 'scanned': this.opts.print(`${e.folder}: scanned ${e.files} files, ${e.changed} changed (${e.ms} ms)`); break
      case 'applied': this.metrics.fileApplied(e.folder, e.action); this.log('%s: %s %s', e.folder, e.action, e.path); break
      // (printed once as a path error, below: a failure is retried with a growing delay)
      case 'failed': this.log('%s: %s: %s', e.folder, e.path, e.error); break
      case 'path-error':
        this.opts.print(`${e.folder}: ${printablePath(e.path)}: ${e.reason} (${e.code})`)
        this.events.publish({ type: 'file.error', folder: e.folder, path: e.path, code: e.code, reason: e.reason })
        break
      case 'path-error-cleared':
        this.opts.print(`${e.folder}: ${printablePath(e.path)}: problem cleared`)
        this.events.publish({ type: 'file.error.cleared', folder: e.folder, path: e.path })
        break
      case 'conflict': this.events.publish({ type: 'conflict', folder: e.folder, path: e.path, conflictPath: e.conflictPath, device: e.winner, keptFrom: e.kept }); break
    }
  }

  private async readBlock (folder: string, cid: CID): Promise<Uint8Array | undefined> {
    return await this.folders.get(folder)?.readBlock(cid)
  }

  private isConnected (peer: string): boolean {
    return this.node !== undefined && this.node.getConnections(peerIdOf(peer)).some(c => c.status === 'open')
  }

  /** What the folder's connected relays keep of `path` (src/replica/relay-history.ts). */
  private async relayHistory (folder: string, path: string): Promise<RemoteHistory> {
    return await askRelaysForHistory(folder, path, {
      relays: this.membership.replicasOf(folder).filter(r => this.isConnected(r)),
      openStream: async relay => await this.requireNode().dialProtocol(peerIdFromString(relay), HISTORY_PROTOCOL, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) }),
      accepts: device => device === this.self || this.membership.acceptsChangesFrom(folder, device),
      hangUp: (relay, reason) => this.hangUp(relay, reason),
      print: line => this.opts.print(line)
    })
  }

  private hangUp (peer: string, reason: Error): void {
    this.opts.print(`cutting off ${this.nameOf(peer)}: ${reason.message}`)
    // peer ids here come from connections or the checked config; a bad one must still not throw
    try { void this.node?.hangUp(peerIdFromString(peer)).catch(() => {}) } catch {}
  }

  /** replica members of any of our folders: relays, which can also relay connections */
  private relays (): string[] {
    return [...new Set(Object.keys(this.config.folders).flatMap(f => this.membership.replicasOf(f)))]
  }

  async reload (): Promise<void> {
    const { config, skipped } = await readConfig(this.opts.home)
    this.reportSkipped(skipped)
    const connected = (this.node?.getConnections() ?? []).map(c => c.remotePeer.toString())
    const access = (peer: string): string => JSON.stringify(this.membership.foldersSharedWith(peer).map(f => [f, this.membership.role(f, peer)]))
    const before = new Map(connected.map(p => [p, access(p)]))
    this.config = config
    this.membership.update(config)
    // a peer whose trust or shares changed is disconnected: streams it holds were opened under
    // the old rules; if still trusted it reconnects within a dial round under the new ones
    for (const [peer, was] of before) {
      if (!this.membership.isTrusted(peer) || access(peer) !== was) void this.node?.hangUp(peerIdFromString(peer)).catch(() => {})
    }
    // a folder paused or resumed: its members are hung up on too, so that index subscriptions both
    // ways end with the old FolderSync and start afresh (at once, not after a refused retry)
    const running = (id: string): boolean => config.folders[id] !== undefined && config.folders[id].paused !== true
    const toggled = Object.keys(config.folders).filter(id => running(id) !== this.folders.has(id))
    for (const peer of new Set(toggled.flatMap(id => this.membership.membersOf(id)))) {
      if (before.has(peer)) void this.node?.hangUp(peerIdFromString(peer)).catch(() => {})
    }
    for (const [id, sync] of this.folders) {
      if (!running(id)) {
        await sync.stop()
        this.folders.delete(id)
        this.fileEventTrackers.get(id)?.()
        this.fileEventTrackers.delete(id)
      }
    }
    await this.startFolders()
    this.replicas.update()
    // roles may have changed: records accepted as changes differ now
    for (const sync of this.folders.values()) sync.invalidatePlan()
    for (const conn of this.node?.getConnections() ?? []) this.subscriptions.ensure(conn.remotePeer.toString())
    // the user may have fixed an address or a trust: try everyone again now
    this.dialer.reset()
    this.dialer.dialAll()
  }

  private transfers (): TransferStatus[] {
    return [...this.folders.values()].flatMap(sync => sync.transfers())
  }

  status (): DaemonStatus {
    const node = this.requireNode()
    const peers: PeerStatus[] = Object.entries(this.config.devices).map(([id, d]) => ({
      id,
      ...(d.name === undefined ? {} : { name: d.name }),
      connected: this.isConnected(id),
      addrs: node.getConnections(peerIdFromString(id)).map(c => c.remoteAddr.toString())
    }))
    const folders = [...this.folders.values()].map(sync => {
      const s = sync.status()
      // in sync only if every connected member has told us all it knows
      const heardAll = this.membership.membersOf(sync.folder)
        .filter(p => this.isConnected(p))
        .every(p => this.subscriptions.synced(p, sync.folder))
      const replica = this.replicas.status(sync.folder)
      return { ...s, inSync: s.inSync && heardAll, ...this.readOnly.status(sync), ...(replica === undefined ? {} : { replicaInSync: replica.inSync, replicaSentBytes: replica.sentBytes }) }
    })
    for (const [id, fc] of Object.entries(this.config.folders)) if (fc.paused === true) folders.push(pausedFolderStatus(id, fc))
    return {
      deviceId: this.self,
      listenAddrs: node.getMultiaddrs().map(m => m.toString()),
      peers,
      folders,
      receivedBytes: Object.fromEntries(this.fetcher.receivedBytes),
      indexTraffic: this.subscriptions.trafficByPeer()
    }
  }

  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    clearInterval(this.dialTimer)
    clearInterval(this.progressTimer)
    await this.api.stop()
    await this.control.stop()
    await this.retention.stop()
    this.replicas.stop()
    for (const sync of this.folders.values()) await sync.stop()
    for (const stop of this.fileEventTrackers.values()) stop()
    await this.node?.stop()
    await this.db.close()
  }
}
