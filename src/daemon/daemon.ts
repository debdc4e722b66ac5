import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { logger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { readConfig, type Config } from '../config/config.ts'
import { deviceIdOf, loadDeviceKey } from '../identity/device-key.ts'
import type { FolderSync } from '../sync/folder-sync.ts'
import type { TransferStatus } from '../sync/transfer-progress.ts'
import type { BlockFetcher } from '../sync/block-fetcher.ts'
import { createNode, DEFAULT_LISTEN, type FerryNode, type NodeOptions } from '../node/create-node.ts'
import { listenThroughRelays } from '../node/relay-listen.ts'
import { hangUpStrangerAfter } from '../node/stranger-guard.ts'
import { toError } from '../../protocols/wire/errors.ts'
import type { IndexSubscriptions } from './index-subscriptions.ts'
import { afterReload, createPeerClients, peerReady, relayHistoryOf, relaysOf, usesRelay, type PeerClients } from './peer-clients.ts'
import { accessOf, peersToHangUp } from './access-changes.ts'
import { openDatabase } from './database.ts'
import type { DaemonStatus } from './status-types.ts'
import { daemonStatus } from './daemon-status.ts'
import { FolderRuntime } from './folder-runtime.ts'
import { daemonRoutes } from './routes.ts'
import { FerryError } from '../errors.ts'
import { ControlServer } from '../control/control-server.ts'
import { describeStartError } from '../lifecycle/start-error.ts'
import { asPart, startAll, stopAll, type Startable } from '../lifecycle/components.ts'
import { PeerIds } from './peer-ids.ts'
import { daemonProtocolServices } from './protocol-services.ts'
import { HttpApi } from '../api/http-api.ts'
import { EventStreams } from '../api/sse.ts'
import { DaemonMetrics } from './daemon-metrics.ts'
import { metricsRoute } from '../metrics/metrics-route.ts'
import { EventBus } from '../events/event-bus.ts'
import { NodeEvents } from '../events/node-events.ts'
import { publishPublicEvents } from '../events/public-events.ts'
import { logFolderEvents } from '../events/event-log.ts'
import { DEFAULT_JOIN_WINDOW_MS, SharingService } from '../sharing/sharing-service.ts'
import type { ReadOnlyFolders } from '../sharing/read-only.ts'
import { Membership } from '../access/membership.ts'
import type { RemoteHistory } from '../history/revisions.ts'
import type { ReplicaUploads } from '../replica/replica-uploads.ts'
import type { DeviceDialer } from './device-dialer.ts'
import type { RateLimits } from '../config/config-types.ts'
import { limitSettings } from '../config/limits-config.ts'
import type { TrafficLimits } from '../node/traffic-limits.ts'
import { daemonTrafficLimits } from './daemon-limits.ts'
import { PeerPresence } from './peer-presence.ts'
import { HoldingsCache } from './peer-completion.ts'
import { UploadTracker } from './upload-tracker.ts'
import { FolderRemovals } from './folder-removals.ts'
import { deviceLabels, withDeviceNames } from './device-labels.ts'

export interface DaemonOptions {
  home: string
  listen?: string[]
  mdns?: boolean
  /** ask the home router for a port forward (UPnP); default off (the CLI turns it on) */
  upnp?: boolean
  /**
   * where the daemon emits what happens (src/events/event-catalog.ts), transfer snapshots every
   * second included; subscribe before `open` to see config entries skipped; default: a new one
   */
  events?: NodeEvents
  rescanIntervalMs?: number
  /** port of the local HTTP API on 127.0.0.1; 0 (default): any free port (see `<home>/api.json`) */
  apiPort?: number
  /** `GET /metrics` also has the process's own metrics (`process_*`, `nodejs_*`): one daemon per process */
  processMetrics?: boolean
  /** libp2p transports instead of TCP (the simulator's in-memory one; see NodeOptions) */
  transports?: NodeOptions['transports']
  /** daemon-wide rate limits over the config's (`ferry start --max-upload/--max-download`) */
  limits?: RateLimits
  /** the database handle (default: `<home>/db`, opened on start); the simulator closes its own under the daemon to crash it */
  db?: ClassicLevel<string, Uint8Array>
}

export const DEFAULT_DIAL_INTERVAL_MS = 3_000
const PROGRESS_INTERVAL_MS = 1_000
const utcDay = (): string => new Date().toISOString().slice(0, 10)

/**
 * `ferry start`: one libp2p node, one FolderSync per folder, index subscriptions to every
 * connected member, the block server, a dial loop for trusted devices, and the control API.
 */
export class Daemon {
  private readonly opts: DaemonOptions
  private readonly log = logger('ferry:daemon')
  private readonly peerIds = new PeerIds()
  private readonly key: PrivateKey
  readonly self: string
  private readonly membership: Membership
  private config: Config
  private readonly db: ClassicLevel<string, Uint8Array>
  /** the running folders (started and stopped by the runtime) */
  private readonly folders = new Map<string, FolderSync>()
  private readonly runtime: FolderRuntime
  private node?: FerryNode
  /** the protocol servers, started with the node */
  private services: Startable[] = []
  private readonly fetcher: BlockFetcher
  private readonly subscriptions: IndexSubscriptions
  private readonly clients: PeerClients
  private readonly dialer: DeviceDialer
  private readonly control: ControlServer
  private readonly api: HttpApi
  /** everything the daemon and its folders report (the CLI prints it, `GET /events` streams the public part) */
  readonly nodeEvents: NodeEvents
  /** what `GET /events` streams */
  readonly events = new EventBus()
  /** what `GET /metrics` serves (src/metrics/daemon-metrics.ts) */
  private readonly metrics: DaemonMetrics
  private readonly sharing: SharingService
  private readonly readOnly: ReadOnlyFolders
  private readonly replicas: ReplicaUploads
  /** rate limits on block traffic (config `limits`, start flags over them) */
  private readonly limits: TrafficLimits
  private readonly parts: Startable[]
  /** last seen per peer, blocks served per file, folders members removed us from (`ferry status`) */
  private readonly presence = new PeerPresence()
  private readonly holdings = new HoldingsCache()
  private readonly uploads = new UploadTracker()
  private readonly removals = new FolderRemovals((folder, by) => { this.nodeEvents.emit({ type: 'folder.unshared', detail: { folder, by, ...this.nameField(by) } }) })
  private dialTimer?: NodeJS.Timeout
  private progressTimer?: NodeJS.Timeout
  private stopped = false
  /** whether the node listens through relays (it uses one); a relay added later turns it on at reload */
  private circuitListen = false
  /** peers a relay refused to carry connections to, and the UTC day it did (status `relayLimited`) */
  private readonly relayLimited = new Map<string, { relay: string, day: string }>()

  private constructor (opts: DaemonOptions, key: PrivateKey, config: Config, skipped: string[]) {
    this.opts = opts
    this.key = key
    this.self = deviceIdOf(key)
    this.config = config
    this.nodeEvents = opts.events ?? new NodeEvents()
    publishPublicEvents(this.nodeEvents, this.events)
    logFolderEvents(this.nodeEvents, this.log)
    this.membership = new Membership(this.self, config)
    this.reportSkipped(skipped)
    this.limits = daemonTrafficLimits({ config, ...(opts.limits === undefined ? {} : { overrides: opts.limits }), remoteAddrs: peer => (this.node?.getConnections(this.peerIds.of(peer)) ?? []).filter(c => c.status === 'open').map(c => c.remoteAddr) })
    this.db = opts.db ?? new ClassicLevel<string, Uint8Array>(join(opts.home, 'db'), { valueEncoding: 'view' })
    this.clients = createPeerClients({
      home: opts.home, self: this.self,
      node: () => this.requireNode(),
      key,
      config: () => this.config,
      membership: this.membership,
      folders: this.folders,
      isConnected: peer => this.isConnected(peer),
      hangUp: (peer, reason) => { this.hangUp(peer, reason) },
      relays: () => relaysOf(this.config, this.membership),
      relayLimited: (peer, relay) => {
        this.relayLimited.set(peer, { relay, day: utcDay() })
        this.nodeEvents.emit({ type: 'relay.limit', detail: { device: peer, ...this.nameField(peer), relay } })
      },
      stopped: () => this.stopped,
      peerIds: this.peerIds,
      events: this.nodeEvents,
      limits: this.limits,
      log: this.log,
      removals: this.removals
    })
    this.dialer = this.clients.dialer
    this.subscriptions = this.clients.subscriptions
    this.fetcher = this.clients.fetcher
    this.replicas = this.clients.replicas
    this.runtime = new FolderRuntime({
      folders: this.folders,
      home: opts.home,
      db: this.db,
      self: this.self,
      key,
      events: this.nodeEvents,
      fetcher: this.fetcher, sealed: this.clients.sealed,
      membership: this.membership,
      config: () => this.config,
      isConnected: peer => this.isConnected(peer),
      onEvent: e => { this.nodeEvents.emit(withDeviceNames(e, this.config)) },
      onStarted: (id, fc) => { this.nodeEvents.emit({ type: 'folder.started', detail: { folder: id, path: fc.path } }) },
      deviceLabel: deviceLabels(() => this.config),
      ...(opts.rescanIntervalMs === undefined ? {} : { rescanIntervalMs: opts.rescanIntervalMs })
    })
    this.sharing = new SharingService({
      home: opts.home, self: this.self, events: this.nodeEvents, log: logger('ferry:join:server'),
      listenAddrs: () => this.requireNode().getMultiaddrs().map(m => m.toString()),
      reload: async () => { await this.reload() },
      openStream: async (peer, protocols, signal) => await this.requireNode().dialProtocol(peerIdFromString(peer), [...protocols], { signal }),
      connectedRelays: () => relaysOf(this.config, this.membership).filter(r => this.isConnected(r))
    })
    this.readOnly = this.runtime.readOnly
    const routes = daemonRoutes({
      folders: this.folders,
      config: () => this.config,
      db: this.db,
      sharing: this.sharing,
      readOnly: this.readOnly,
      status: () => this.status(),
      reload: async () => { await this.reload() },
      remoteHistory: async (folder, path) => await this.relayHistory(folder, path),
      keys: this.clients.keys
    })
    this.control = new ControlServer(opts.home, routes)
    const eventStreams = new EventStreams(this.events)
    this.metrics = new DaemonMetrics({ status: () => this.node === undefined ? undefined : this.status(), eventStreams: () => eventStreams.stats(), blocksFetched: () => this.fetcher.receivedBlocks, ...(opts.processMetrics === true ? { processMetrics: true } : {}) })
    this.nodeEvents.on('file.applied', d => { this.metrics.fileApplied(d.folder, d.action) })
    this.api = new HttpApi({ home: opts.home, port: opts.apiPort ?? 0, routes, streams: { 'GET /events': eventStreams.route, 'GET /metrics': metricsRoute(async () => await this.metrics.scrape()) } })
    this.parts = this.buildParts()
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
    try {
      await startAll(this.parts)
    } catch (err) {
      // rolled back: a later stop() has nothing to undo
      this.stopped = true
      throw err
    }
  }

  /** in start order; `stop` undoes them in reverse (the front doors close first: beforeStop) */
  private buildParts (): Startable[] {
    return [
      // first: a second daemon on this home is refused before it touches the database or api.json
      { name: 'control socket', start: async () => { await this.control.start() }, beforeStop: async () => { await this.control.stop() }, stop: async () => {} },
      { name: 'database', start: async () => { await openDatabase(this.db, this.opts.home) }, stop: async () => { await this.db.close() } },
      { name: 'invitations', start: async () => { await this.sharing.start() }, stop: async () => {} },
      { name: 'HTTP API', start: async () => { await this.api.start() }, beforeStop: async () => { await this.api.stop() }, stop: async () => {} },
      { name: 'network', start: async () => { await this.startNetworkOrUndo() }, stop: async () => { await this.stopNetwork() } }
    ]
  }

  /** leaves no node that listens, no folder or timer behind if it fails */
  private async startNetworkOrUndo (): Promise<void> {
    try {
      await this.startNetwork()
    } catch (err) {
      this.stopped = true
      await this.stopNetwork().catch(() => {})
      throw describeStartError(err)
    }
  }

  private async stopNetwork (): Promise<void> {
    clearInterval(this.dialTimer)
    clearInterval(this.progressTimer)
    this.replicas.stop()
    await this.runtime.stop()
    await stopAll(this.services)
    await this.node?.stop()
  }

  /** The node, its protocols, the folders and timers. */
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
      upnp: this.opts.upnp ?? false,
      // reachable through a relay only if we use one (a relay added later: see reload)
      circuitListen: this.circuitListen = usesRelay(this.config),
      // WebRTC, its only STUN servers those of the trusted relays (not in the simulator)
      ...(this.opts.transports === undefined ? { webrtc: { relayAddrs: () => relaysOf(this.config, this.membership).flatMap(r => this.config.devices[r]?.addrs ?? []) } } : { transports: this.opts.transports }),
      // libp2p's own metrics on GET /metrics: only with the process's (one node per process)
      ...(this.opts.processMetrics === true ? { metricsRegistry: this.metrics.registry } : {})
    })
    this.node = node
    // index, blocks (trusted devices only) and join: src/daemon/protocol-services.ts
    this.services = daemonProtocolServices({
      registrar: node,
      logger: node.logger,
      isTrusted: peer => this.membership.isTrusted(peer),
      mayRead: (folder, peer) => this.membership.mayRead(folder, peer),
      folder: id => this.folders.get(id),
      served: ({ peer, folder, cid }, block) => {
        const path = block === undefined ? undefined : this.folders.get(folder)?.store.blockLocations(cid)[0]?.path
        if (path !== undefined) this.uploads.served({ peer, folder, path, bytes: block!.byteLength })
        return this.metrics.served(peer, block)
      },
      paceUpload: async (peer, bytes) => { await this.limits.pace('upload', peer, bytes) },
      invitations: this.sharing,
      keys: this.clients.keys
    }).map(service => asPart('protocol service', service))
    await startAll(this.services)
    node.addEventListener('peer:connect', e => {
      const peer = e.detail.toString()
      this.dialer.connected(peer)
      this.presence.connected(peer)
      // a stranger, admitted for a join: it gets that long to finish
      if (!this.membership.isTrusted(peer)) { hangUpStrangerAfter(e.detail, DEFAULT_JOIN_WINDOW_MS, p => this.membership.isTrusted(p), p => this.node?.hangUp(p)); return }
      this.nodeEvents.emit({ type: 'peer.connected', detail: { device: peer, ...this.nameField(peer) } })
      peerReady(this.clients, peer)
      this.sharing.peerConnected(peer)
      for (const f of this.membership.foldersSharedWith(peer)) this.folders.get(f)?.requestSync()
    })
    node.addEventListener('peer:disconnect', e => {
      const peer = e.detail.toString()
      this.dialer.disconnected(peer)
      this.presence.disconnected(peer)
      if (!this.membership.isTrusted(peer)) return
      this.nodeEvents.emit({ type: 'peer.disconnected', detail: { device: peer, ...this.nameField(peer) } })
    })
    node.addEventListener('peer:discovery', e => {
      const peer = e.detail.id.toString()
      if (this.membership.isTrusted(peer) && !this.isConnected(peer)) void this.dialer.dial(peer)
    })
    await node.start()
    for (const ma of node.getMultiaddrs()) this.nodeEvents.emit({ type: 'node.listening', detail: { addr: ma.toString() } })
    this.nodeEvents.emit({ type: 'node.identity', detail: { kind: 'device', id: this.self } })
    await this.runtime.startFolders()
    this.nodeEvents.emit({ type: 'api.listening', detail: { port: this.api.port, infoFile: join(this.opts.home, 'api.json') } })
    this.runtime.startRetention()
    this.replicas.update()
    // peers that connected while the folders were starting found none to subscribe to
    for (const conn of node.getConnections()) peerReady(this.clients, conn.remotePeer.toString())
    this.dialTimer = setInterval(() => this.dialer.dialAll(), DEFAULT_DIAL_INTERVAL_MS)
    this.progressTimer = setInterval(() => {
      this.nodeEvents.emit({ type: 'transfer.snapshot', detail: { transfers: this.transfers() } })
    }, PROGRESS_INTERVAL_MS)
    this.dialer.dialAll()
  }

  /** config entries that did not pass the checks: the daemon runs without them */
  private reportSkipped (skipped: readonly string[]): void {
    if (skipped.length > 0) this.nodeEvents.emit({ type: 'config.skipped', detail: { entries: [...skipped] } })
  }

  private nameField (peer: string): { name?: string } {
    const name = this.config.devices[peer]?.name
    return name === undefined ? {} : { name }
  }

  private isConnected (peer: string): boolean {
    return this.node !== undefined && this.node.getConnections(this.peerIds.of(peer)).some(c => c.status === 'open')
  }

  /** What the folder's connected relays keep of `path` (src/replica/relay-history.ts). */
  private async relayHistory (folder: string, path: string): Promise<RemoteHistory> {
    return await relayHistoryOf({ folder, path, self: this.self, sealed: this.clients.sealed, membership: this.membership, node: this.requireNode(), isConnected: p => this.isConnected(p), hangUp: (p, r) => { this.hangUp(p, r) }, events: this.nodeEvents })
  }

  private hangUp (peer: string, reason: Error): void {
    this.nodeEvents.emit({ type: 'peer.cut-off', detail: { device: peer, ...this.nameField(peer), reason: reason.message } })
    // peer ids here come from connections or the checked config; a bad one must still not throw
    try { void this.node?.hangUp(peerIdFromString(peer)).catch(() => {}) } catch {}
  }

  async reload (): Promise<void> {
    const { config, skipped } = await readConfig(this.opts.home)
    this.reportSkipped(skipped)
    const connected = (this.node?.getConnections() ?? []).map(c => c.remotePeer.toString())
    const before = new Map(connected.map(p => [p, accessOf(this.membership, p)]))
    this.config = config
    this.membership.update(config)
    this.limits.update(limitSettings(config, this.opts.limits))
    const running = (id: string): boolean => config.folders[id] !== undefined && config.folders[id].paused !== true
    const toggled = Object.keys(config.folders).filter(id => running(id) !== this.folders.has(id))
    for (const peer of peersToHangUp(this.membership, { before, toggled })) void this.node?.hangUp(peerIdFromString(peer)).catch(() => {})
    await this.runtime.stopUnless(running)
    await this.runtime.startFolders()
    // roles may have changed: records accepted as changes differ now
    for (const sync of this.folders.values()) sync.invalidatePlan()
    // a relay added while running: reserve a slot on it now (no restart)
    if (!this.circuitListen && this.node !== undefined && usesRelay(config)) {
      this.circuitListen = true
      await listenThroughRelays(this.node).catch(err => { this.log('listening through relays failed: %s', toError(err).message) })
    }
    afterReload(this.clients, (this.node?.getConnections() ?? []).map(c => c.remotePeer.toString()))
  }

  private transfers (): TransferStatus[] {
    return [...this.folders.values()].flatMap(sync => sync.transfers())
  }

  status (): DaemonStatus {
    return daemonStatus({ self: this.self, node: this.requireNode(), config: this.config, folders: this.folders, membership: this.membership, subscriptions: this.subscriptions, replicas: this.replicas, readOnly: this.readOnly, fetcher: this.fetcher, limits: this.limits, isConnected: peer => this.isConnected(peer), relayLimited: peer => (l => l?.day === utcDay() ? l.relay : undefined)(this.relayLimited.get(peer)), presence: this.presence, uploads: this.uploads, removals: this.removals, holdings: this.holdings })
  }

  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    await stopAll(this.parts)
  }
}
