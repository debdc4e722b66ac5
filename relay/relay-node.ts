import { mkdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { logger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import type { PrivateKey, Startable } from '@libp2p/interface'
import { emptyConfig, loadConfig, saveConfig, type Config } from '../src/config/config.ts'
import { createDeviceKey, deviceIdOf, KEY_FILE, loadDeviceKey } from '../src/identity/device-key.ts'
import { createNode, DEFAULT_LISTEN, type FerryNode } from '../src/node/create-node.ts'
import { Membership } from '../src/daemon/membership.ts'
import { ControlServer } from '../src/daemon/control-server.ts'
import { FerryError } from '../src/errors.ts'
import { relayProtocolServices } from './relay-services.ts'
import { startServices, stopServices } from '../src/node/services.ts'
import { RelayStore } from './store/relay-store.ts'
import { verifyRelay, type VerifyReport } from './store/verify.ts'
import { DAY_MS, DEFAULT_RETENTION_DAYS, GarbageCollector } from './store/garbage-collector.ts'
import { RelayMetrics } from './relay-metrics.ts'
import { MetricsServer, type MetricsListen } from '../src/metrics/metrics-server.ts'
import { NodeEvents } from '../src/events/node-events.ts'

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
}

export interface RelayFolderStatus { id: string, members: string[], devices: Record<string, number>, paths: number }
export interface RelayStatus {
  relay: true
  deviceId: string
  listenAddrs: string[]
  peers: Array<{ id: string, name?: string, connected: boolean }>
  folders: RelayFolderStatus[]
  /** block bytes and blocks stored since this process started */
  receivedBlockBytes: number
  receivedBlocks: number
  /**
   * bytes of upload sessions' record messages (`recs`, `want`, `segs`, `ack` frames, both ways)
   * since this process started: what records cost on the wire, deltas included
   */
  uploadRecordBytes: number
  retentionDays: number
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

  private constructor (opts: RelayOptions, key: PrivateKey, config: Config) {
    this.opts = opts
    this.nodeEvents = opts.events ?? new NodeEvents()
    this.key = key
    this.self = deviceIdOf(key)
    this.config = config
    this.membership = new Membership(this.self, config)
    this.store = new RelayStore({ home: opts.home, self: this.self, key })
    this.gc = new GarbageCollector({ store: this.store, retentionMs: this.retentionDays() * DAY_MS, log: logger('ferry:relay:gc') })
    this.control = new ControlServer(opts.home, {
      'GET /status': async () => this.status(),
      'POST /reload': async () => { await this.reload(); return { ok: true } },
      'POST /verify': async () => await this.verify()
    })
    this.metrics = new RelayMetrics({ status: () => this.status(), blocks: this.store.blocks, ...(opts.processMetrics === true ? { processMetrics: true } : {}) })
    if (opts.metricsListen !== undefined) this.metricsServer = new MetricsServer(opts.metricsListen, async () => await this.metrics.scrape())
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
    await this.control.start()
    try {
      await this.store.open()
    } catch (err) {
      await this.control.stop()
      throw err
    }
    const node = await createNode({
      privateKey: this.key,
      listen: this.opts.listen ?? DEFAULT_LISTEN,
      isTrusted: id => this.membership.isTrusted(id),
      mdns: false,
      relayServer: true
    })
    this.node = node
    // index, blocks, history and replica, for trusted members only: relay/relay-services.ts
    this.services = await startServices(relayProtocolServices({
      registrar: node,
      logger: node.logger,
      isTrusted: peer => this.membership.isTrusted(peer),
      store: this.store,
      readBlock: async cid => this.metrics.served(await this.store.blocks.get(cid, bad => {
        this.nodeEvents.emit({ type: 'relay.block.quarantined', detail: { cid: bad.toString() } })
        void this.store.blocks.quarantine(bad)
      })),
      hangUp: (peer, reason) => this.hangUp(peer, reason),
      recordFrameBytes: bytes => { this.uploadRecordBytes += bytes }
    }))
    node.addEventListener('peer:connect', e => { this.nodeEvents.emit({ type: 'peer.connected', detail: this.peerOf(e.detail.toString()) }) })
    node.addEventListener('peer:disconnect', e => { this.nodeEvents.emit({ type: 'peer.disconnected', detail: this.peerOf(e.detail.toString()) }) })
    await node.start()
    for (const ma of node.getMultiaddrs()) this.nodeEvents.emit({ type: 'node.listening', detail: { addr: ma.toString() } })
    this.nodeEvents.emit({ type: 'node.identity', detail: { kind: 'relay', id: this.self } })
    this.nodeEvents.emit({ type: 'relay.opened', detail: { folders: this.store.list().length, retentionDays: this.retentionDays() } })
    this.gc.start()
    if (this.metricsServer !== undefined) {
      try {
        this.nodeEvents.emit({ type: 'metrics.listening', detail: { url: await this.metricsServer.start() } })
      } catch (err) {
        await this.stop().catch(() => {})
        throw err
      }
    }
  }

  private peerOf (peer: string): { device: string, name?: string } {
    const name = this.config.devices[peer]?.name
    return name === undefined ? { device: peer } : { device: peer, name }
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

  status (): RelayStatus {
    const node = this.requireNode()
    return {
      relay: true,
      deviceId: this.self,
      listenAddrs: node.getMultiaddrs().map(m => m.toString()),
      peers: Object.entries(this.config.devices).map(([id, d]) => ({
        id,
        ...(d.name === undefined ? {} : { name: d.name }),
        connected: node.getConnections(peerIdFromString(id)).some(c => c.status === 'open')
      })),
      folders: this.store.list().map(f => ({
        id: f.id,
        members: [...f.members],
        devices: f.store.positionVector(),
        paths: [...f.store.paths()].length
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
    await this.metricsServer?.stop()
    await this.control.stop()
    await this.gc.stop()
    await stopServices(this.services)
    await this.node?.stop()
    await this.store.close()
  }
}

/** `ferry relay verify` without a running relay: opens the store directly. */
export async function verifyOffline (home: string): Promise<VerifyReport> {
  const key = await loadDeviceKey(home)
  const store = new RelayStore({ home, self: deviceIdOf(key), key })
  await store.open()
  try { return await verifyRelay(store) } finally { await store.close() }
}
