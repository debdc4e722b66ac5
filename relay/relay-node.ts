import { mkdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { logger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { emptyConfig, loadConfig, saveConfig, type Config } from '../src/config/config.ts'
import { createDeviceKey, deviceIdOf, KEY_FILE, loadDeviceKey } from '../src/identity/device-key.ts'
import { createNode, DEFAULT_LISTEN, type FerryNode, type NodeOptions } from '../src/node/create-node.ts'
import { Membership } from '../src/access/membership.ts'
import { ControlServer } from '../src/control/control-server.ts'
import { FerryError } from '../src/errors.ts'
import { asPart, startAll, stopAll, type Startable } from '../src/lifecycle/components.ts'
import { relayProtocolServices } from './relay-services.ts'
import { RelayStore } from './store/relay-store.ts'
import { folderUsage } from './store/folder-usage.ts'
import { verifyRelay, type VerifyReport } from './store/verify.ts'
import { DAY_MS, DEFAULT_RETENTION_DAYS, GarbageCollector } from './store/garbage-collector.ts'
import { RelayMetrics } from './relay-metrics.ts'
import type { RelayStatus } from './relay-status.ts'
import { MetricsServer, type MetricsListen } from '../src/metrics/metrics-server.ts'
import { NodeEvents } from '../src/events/node-events.ts'
import { StunServer, type StunListen } from './stun-server.ts'
import { defaultStunListen } from './stun-listen.ts'
import { RelayLimits } from './relay-limits.ts'
import { limitRelayed } from './relay-limit-guard.ts'
import { relayMemberLists, setQuotaRoute } from './relay-tenancy.ts'
import { JoinWindows } from './join-windows.ts'
import { DEFAULT_STRANGER_CONNECTION_MS } from './stranger-circuits.ts'
import { joinWindowService } from '../protocols/join-window/index.ts'
import { hangUpStrangerAfter, trustedRegistrar } from '../src/node/stranger-guard.ts'

export interface RelayOptions {
  home: string
  listen?: string[]
  retentionDays?: number
  /** serve `GET /metrics` (no token) here; loopback only; default: not served */
  metricsListen?: MetricsListen
  /** add the process's own metrics (`process_*`, `nodejs_*`): one relay per process */
  processMetrics?: boolean
  /** where the relay emits what happens (src/events/event-catalog.ts); default: a new one */
  events?: NodeEvents
  /** libp2p transports instead of TCP (the simulator's in-memory one; see NodeOptions) */
  transports?: NodeOptions['transports']
  /**
   * where to answer STUN binding requests on UDP, or false for nowhere; default: the host and
   * port number of the first TCP listen address (devices expect it there)
   */
  stun?: StunListen | false
  /** what the relay carries between devices per member (relay-limits.ts; defaults there) */
  relayLimits?: { rateBytesPerSecond?: number, dailyBytes?: number }
  /** storage per device (the member that uploaded each block) unless set for it (`ferry relay quota set`); default: unlimited */
  quotaBytes?: number
}

/** Loads the identity in `home`, or creates one (and an empty config) on first run. */
export async function loadOrCreateIdentity (home: string): Promise<PrivateKey> {
  const exists = await stat(join(home, KEY_FILE)).then(() => true, () => false)
  if (exists) return await loadDeviceKey(home)
  await mkdir(home, { recursive: true, mode: 0o700 })
  const key = await createDeviceKey(home)
  await saveConfig(home, emptyConfig())
  return key
}

/**
 * `ferry relay`: an always-on node that stores, for the devices that trust it and share folders
 * with it, every signed record and every block (durably), and serves them back over the same
 * protocols a device uses. It never signs records and never accepts data from untrusted peers.
 */
export class RelayNode {
  private readonly opts: RelayOptions
  private readonly key: PrivateKey
  readonly self: string
  private readonly membership: Membership
  private config: Config
  private readonly store: RelayStore
  private readonly control: ControlServer
  private readonly gc: GarbageCollector
  private readonly log = logger('ferry:relay')
  private node?: FerryNode
  /** the protocol servers, started with the node */
  private services: Startable[] = []
  private stopped = false
  private uploadRecordBytes = 0
  private readonly metrics: RelayMetrics
  private readonly metricsServer?: MetricsServer
  /** everything the relay reports (the CLI prints it) */
  readonly nodeEvents: NodeEvents
  private readonly parts: Startable[]
  private stun?: StunServer
  private readonly relayLimits: RelayLimits
  private stunAddress?: string
  /** devices with an open invitation: strangers may reach them through us (join-windows.ts) */
  private readonly joinWindows = new JoinWindows()

  private constructor (opts: RelayOptions, key: PrivateKey, config: Config) {
    this.opts = opts
    this.nodeEvents = opts.events ?? new NodeEvents()
    this.key = key
    this.self = deviceIdOf(key)
    this.config = config
    this.membership = new Membership(this.self, config)
    this.store = new RelayStore({ home: opts.home, self: this.self, ...(opts.quotaBytes === undefined ? {} : { quotaBytes: opts.quotaBytes }) })
    this.store.onSealed = m => { this.nodeEvents.emit({ type: 'relay.folder.sealed', detail: m }) }
    this.gc = new GarbageCollector({ store: this.store, retentionMs: this.retentionDays() * DAY_MS, log: logger('ferry:relay:gc') })
    this.control = new ControlServer(opts.home, {
      'GET /status': async () => await this.statusWithUsage(),
      'POST /reload': async () => { await this.reload(); return { ok: true } },
      'POST /verify': async () => await this.verify(),
      'POST /quota': async ({ body }) => await setQuotaRoute(this.store, body)
    })
    this.metrics = new RelayMetrics({ status: () => this.status(), blocks: this.store.blocks, folderUsage: async () => new Map(await Promise.all(this.store.list().map(async f => [f.id, await folderUsage(f.log)] as const))), ...(opts.processMetrics === true ? { processMetrics: true } : {}) })
    if (opts.metricsListen !== undefined) this.metricsServer = new MetricsServer(opts.metricsListen, async () => await this.metrics.scrape())
    this.relayLimits = new RelayLimits({
      ...opts.relayLimits,
      onLimit: (device, d) => { this.nodeEvents.emit({ type: 'relay.limit', detail: { ...this.peerOf(device), bytesToday: d.bytesToday, dailyBytes: d.dailyBytes } }) }
    })
    this.parts = this.buildParts()
  }

  static async open (opts: RelayOptions): Promise<RelayNode> {
    const key = await loadOrCreateIdentity(opts.home)
    const config = await loadConfig(opts.home)
    return new RelayNode(opts, key, config)
  }

  private retentionDays (): number {
    return this.opts.retentionDays ?? DEFAULT_RETENTION_DAYS
  }

  private requireNode (): FerryNode {
    if (this.node === undefined) throw new FerryError('relay not started', 'ERR_FERRY_NOT_STARTED')
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

  /** in start order; `stop` undoes them in reverse */
  private buildParts (): Startable[] {
    return [
      // first: a second relay on this home is refused before it touches the store
      { name: 'control socket', start: async () => { await this.control.start() }, beforeStop: async () => { await this.control.stop() }, stop: async () => {} },
      { name: 'store', start: async () => { await this.store.open() }, stop: async () => { await this.store.close() } },
      { name: 'node', start: async () => { await this.startNode() }, stop: async () => { await stopAll(this.services); await this.node?.stop() } },
      { name: 'STUN server', start: async () => { await this.startStun() }, stop: async () => { await this.stun?.stop() } },
      { name: 'garbage collector', start: async () => { this.gc.start() }, stop: async () => { await this.gc.stop() } },
      { name: 'metrics server', start: async () => { await this.startMetrics() }, beforeStop: async () => { await this.metricsServer?.stop() }, stop: async () => {} }
    ]
  }

  /** The node and its protocols; a node that failed to start is stopped again. */
  private async startNode (): Promise<void> {
    try {
      await this.openNode()
    } catch (err) {
      try { await stopAll(this.services); await this.node?.stop() } catch {}
      throw err
    }
  }

  private async openNode (): Promise<void> {
    const node = await createNode({
      privateKey: this.key,
      listen: this.opts.listen ?? DEFAULT_LISTEN,
      isTrusted: id => this.membership.isTrusted(id),
      // while a device has an open join window, strangers may connect, for a circuit to it only
      admitsStrangers: () => this.joinWindows.anyOpen(),
      relayStrangersTo: device => this.membership.isTrusted(device) && this.joinWindows.isOpen(device),
      mdns: false,
      relayServer: true,
      wrapRelayServer: server => limitRelayed(server, this.relayLimits, id => this.membership.isTrusted(id)),
      ...(this.opts.transports === undefined ? {} : { transports: this.opts.transports }),
      // libp2p's own metrics on GET /metrics: only with the process's (one node per process)
      ...(this.opts.processMetrics === true ? { metricsRegistry: this.metrics.registry } : {})
    })
    this.node = node
    // index, blocks, history and replica, for trusted members only: relay/relay-services.ts
    // every protocol of the relay refuses strangers (a joiner may only pass through: createNode)
    const guarded = trustedRegistrar(node, peer => this.membership.isTrusted(peer))
    this.services = [...relayProtocolServices({
      registrar: guarded,
      logger: node.logger,
      isTrusted: peer => this.membership.isTrusted(peer),
      store: this.store,
      readBlock: async cid => this.metrics.served(await this.store.blocks.get(cid, bad => {
        this.nodeEvents.emit({ type: 'relay.block.quarantined', detail: { cid: bad.toString() } })
        void this.store.blocks.quarantine(bad)
      })),
      hangUp: (peer, reason) => this.hangUp(peer, reason),
      recordFrameBytes: bytes => { this.uploadRecordBytes += bytes },
      memberLists: relayMemberLists({ store: this.store, isTrusted: peer => this.membership.isTrusted(peer), events: this.nodeEvents }),
      onQuota: (peer, folder, err) => { this.nodeEvents.emit({ type: 'relay.quota', detail: { ...this.peerOf(peer), folder, usedBytes: err.usedBytes, limitBytes: err.limitBytes } }) }
    }), joinWindowService()({ registrar: guarded, logger: node.logger, windows: { open: (peer, untilMs) => this.openJoinWindow(peer, untilMs) } })]
      .map(service => asPart('protocol service', service))
    await startAll(this.services)
    node.addEventListener('peer:connect', e => {
      const peer = e.detail.toString()
      if (this.membership.isTrusted(peer)) { this.nodeEvents.emit({ type: 'peer.connected', detail: this.peerOf(peer) }); return }
      // a joiner, admitted for one circuit to a device with an open join window
      hangUpStrangerAfter(e.detail, DEFAULT_STRANGER_CONNECTION_MS, p => this.membership.isTrusted(p), p => this.node?.hangUp(p))
    })
    node.addEventListener('peer:disconnect', e => { if (this.membership.isTrusted(e.detail.toString())) this.nodeEvents.emit({ type: 'peer.disconnected', detail: this.peerOf(e.detail.toString()) }) })
    await node.start()
    for (const ma of node.getMultiaddrs()) this.nodeEvents.emit({ type: 'node.listening', detail: { addr: ma.toString() } })
    this.nodeEvents.emit({ type: 'node.identity', detail: { kind: 'relay', id: this.self } })
    this.nodeEvents.emit({ type: 'relay.opened', detail: { folders: this.store.list().length, retentionDays: this.retentionDays() } })
  }

  private async startStun (): Promise<void> {
    const listen = this.opts.stun ?? defaultStunListen(this.opts.listen ?? DEFAULT_LISTEN, this.requireNode().getMultiaddrs().map(m => m.toString()))
    if (listen === false || listen === undefined) return
    this.stun = new StunServer(listen)
    let at
    try { at = await this.stun.start() } catch (err) {
      this.stun = undefined
      // asked for explicitly: the relay does not start without it; by default it runs without
      if (this.opts.stun !== undefined) throw err
      this.nodeEvents.emit({ type: 'stun.unavailable', detail: { reason: (err as Error).message } })
      return
    }
    this.stunAddress = `udp ${at.host.includes(':') ? `[${at.host}]` : at.host}:${at.port}`
    this.nodeEvents.emit({ type: 'stun.listening', detail: { address: this.stunAddress } })
  }

  private async startMetrics (): Promise<void> {
    if (this.metricsServer !== undefined) {
      this.nodeEvents.emit({ type: 'metrics.listening', detail: { url: await this.metricsServer.start() } })
    }
  }

  private peerOf (peer: string): { device: string, name?: string } {
    const name = this.config.devices[peer]?.name
    return name === undefined ? { device: peer } : { device: peer, name }
  }

  /** /ferry/join-window/1: the time kept, or undefined for a device we do not trust */
  private openJoinWindow (peer: string, untilMs: number): number | undefined {
    if (!this.membership.isTrusted(peer)) return undefined
    const kept = this.joinWindows.open(peer, untilMs)
    this.nodeEvents.emit({ type: 'relay.join-window', detail: { ...this.peerOf(peer), untilMs: kept } })
    return kept
  }

  private hangUp (peer: string, reason: Error): void {
    // by id only (not by name, as a device does)
    this.nodeEvents.emit({ type: 'peer.cut-off', detail: { device: peer, reason: reason.message } })
    void this.node?.hangUp(peerIdFromString(peer)).catch(() => {})
  }

  async reload (): Promise<void> {
    const config = await loadConfig(this.opts.home)
    this.config = config
    this.membership.update(config)
    this.joinWindows.retain(id => this.membership.isTrusted(id))
    for (const conn of this.node?.getConnections() ?? []) {
      if (!this.membership.isTrusted(conn.remotePeer.toString())) void conn.close().catch(() => {})
    }
  }

  /**
   * Scrub while running. Devices of folders with damaged blocks are disconnected: they reconnect
   * at once and their uploaders re-check which blocks the relay lacks (and re-send them).
   */
  async verify (): Promise<VerifyReport> {
    const report = await verifyRelay(this.store)
    if (report.damagedBlocks.length > 0) {
      for (const conn of this.node?.getConnections() ?? []) void conn.close().catch(() => {})
    }
    return report
  }

  /** `status()` with each folder's stored blocks and bytes (a walk of its records: for `ferry status`) */
  async statusWithUsage (): Promise<RelayStatus> {
    const s = this.status()
    for (const f of s.folders) {
      const folder = this.store.folder(f.id)
      if (folder === undefined) continue
      const usage = await folderUsage(folder.log)
      f.storedBlocks = usage.blocks
      f.storedBytes = usage.bytes
    }
    return s
  }

  status (): RelayStatus {
    const node = this.requireNode()
    return {
      relay: true,
      deviceId: this.self,
      listenAddrs: node.getMultiaddrs().map(m => m.toString()),
      ...(this.stunAddress === undefined ? {} : { stun: { address: this.stunAddress, answered: this.stun?.answered ?? 0 } }),
      peers: Object.entries(this.config.devices).map(([id, d]) => ({
        id,
        ...(d.name === undefined ? {} : { name: d.name }),
        connected: node.getConnections(peerIdFromString(id)).some(c => c.status === 'open'),
        relayedToday: this.relayLimits.usage(id).bytesToday,
        relayLimited: this.relayLimits.usage(id).limited
      })),
      relayLimits: { rateBytesPerSecond: this.relayLimits.rateBytesPerSecond, dailyBytes: this.relayLimits.dailyBytes },
      quotas: this.store.quotas.devices().map(id => ({ ...this.peerOf(id), ...this.store.quotas.usage(id) })),
      ...(this.store.quotas.defaultLimitBytes === undefined ? {} : { defaultQuotaBytes: this.store.quotas.defaultLimitBytes }),
      folders: this.store.list().map(f => ({
        id: f.id,
        members: [...f.members],
        ...(f.held === undefined ? {} : { membersVersion: f.held.signed.list.version }),
        devices: f.log.positionVector(),
        paths: [...f.log.paths()].length
      })),
      receivedBlockBytes: this.store.receivedBlockBytes,
      receivedBlocks: this.store.receivedBlocks,
      uploadRecordBytes: this.uploadRecordBytes,
      retentionDays: this.retentionDays()
    }
  }

  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    await stopAll(this.parts)
  }
}

/** `ferry relay verify` without a running relay: opens the store directly. */
export async function verifyOffline (home: string): Promise<VerifyReport> {
  const key = await loadDeviceKey(home)
  const store = new RelayStore({ home, self: deviceIdOf(key) })
  await store.open()
  try { return await verifyRelay(store) } finally { await store.close() }
}
