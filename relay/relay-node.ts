import { mkdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { logger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { emptyConfig, loadConfig, saveConfig, type Config } from '../src/config/config.ts'
import { createDeviceKey, deviceIdOf, KEY_FILE, loadDeviceKey } from '../src/identity/device-key.ts'
import { createNode, DEFAULT_LISTEN, type FerryNode, type NodeOptions } from '../src/node/create-node.ts'
import { Membership } from '../src/daemon/membership.ts'
import { ControlServer } from '../src/daemon/control-server.ts'
import { FerryError } from '../src/errors.ts'
import { INDEX_PROTOCOLS, serveIndex } from '../protocols/index/index.ts'
import { BLOCKS_PROTOCOLS, serveBlocks } from '../protocols/blocks/index.ts'
import { REPLICA_PROTOCOLS, serveReplica } from '../protocols/replica/index.ts'
import { DEFAULT_MAX_INBOUND_STREAMS as INDEX_MAX_STREAMS } from '../protocols/index/constants.ts'
import { DEFAULT_MAX_INBOUND_STREAMS as BLOCKS_MAX_STREAMS } from '../protocols/blocks/constants.ts'
import { DEFAULT_MAX_INBOUND_STREAMS as REPLICA_MAX_STREAMS } from '../protocols/replica/constants.ts'
import { HISTORY_PROTOCOL, serveHistory, DEFAULT_MAX_INBOUND_STREAMS as HISTORY_MAX_STREAMS } from '../protocols/history/index.ts'
import { RelayStore } from './relay-store.ts'
import { verifyRelay, type VerifyReport } from './verify.ts'
import { DAY_MS, DEFAULT_RETENTION_DAYS, GarbageCollector } from './garbage-collector.ts'
import { RelayMetrics } from './relay-metrics.ts'
import { MetricsServer, type MetricsListen } from '../src/metrics/metrics-server.ts'

export interface RelayOptions {
  home: string
  listen?: string[]
  retentionDays?: number
  /** serve `GET /metrics` (no token) here; loopback only; default: not served */
  metricsListen?: MetricsListen
  /** add the process's own metrics (`process_*`, `nodejs_*`): one relay per process */
  processMetrics?: boolean
  print: (line: string) => void
  /** libp2p transports instead of TCP (the simulator's in-memory one; see NodeOptions) */
  transports?: NodeOptions['transports']
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
  private stopped = false
  private uploadRecordBytes = 0
  private readonly metrics: RelayMetrics
  private readonly metricsServer?: MetricsServer

  private constructor (opts: RelayOptions, key: PrivateKey, config: Config) {
    this.opts = opts
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
      relayServer: true,
      ...(this.opts.transports === undefined ? {} : { transports: this.opts.transports })
    })
    this.node = node
    // /ferry/index/2 (record deltas) and /1, as a device serves them
    await node.handle([...INDEX_PROTOCOLS], async (stream, connection) => {
      await serveIndex(stream, connection.remotePeer.toString(), {
        // a trusted device subscribing to a folder shares it with the relay (as its upload does)
        folderStore: async (peer, folder) => this.membership.isTrusted(peer) ? (await this.store.join(folder, peer)).store : undefined,
        log: logger('ferry:relay:index')
      })
    }, { maxInboundStreams: INDEX_MAX_STREAMS })
    // /ferry/blocks/2 (compressed on request) and /1 (raw), like a device
    await node.handle([...BLOCKS_PROTOCOLS], async (stream, connection) => {
      await serveBlocks(stream, connection.remotePeer.toString(), {
        mayRead: (peer, folder) => this.membership.isTrusted(peer) && this.store.isMember(folder, peer),
        readBlock: async (_folder, cid) => this.metrics.served(await this.store.blocks.get(cid, bad => {
          this.opts.print(`block ${bad.toString()} is damaged on disk; quarantined, devices will upload it again`)
          void this.store.blocks.quarantine(bad)
        })),
        log: logger('ferry:relay:blocks')
      })
    }, { maxInboundStreams: BLOCKS_MAX_STREAMS })
    // a member's question "every version of this path you keep" (ferry revisions / restore)
    await node.handle(HISTORY_PROTOCOL, async (stream, connection) => {
      await serveHistory(stream, connection.remotePeer.toString(), {
        recordsOf: async (peer, folder, path) => {
          const f = this.store.folder(folder)
          if (f === undefined || !this.membership.isTrusted(peer) || !this.store.isMember(folder, peer)) return undefined
          return [...f.store.signedOf(path), ...(await f.store.history(path)).map(h => h.signed)]
        },
        log: logger('ferry:relay:history')
      })
    }, { maxInboundStreams: HISTORY_MAX_STREAMS })
    // /ferry/replica/2 (record deltas) and /1; the handler reads the negotiated id from the stream
    await node.handle([...REPLICA_PROTOCOLS], async (stream, connection) => {
      await serveReplica(stream, connection.remotePeer.toString(), {
        openFolder: async (peer, folder) => this.membership.isTrusted(peer) ? await this.store.replicaFolder(folder, peer) : undefined,
        hangUp: (peer, reason) => this.hangUp(peer, reason),
        onFrame: (type, bytes) => {
          if (type === 'recs' || type === 'want' || type === 'segs' || type === 'ack') this.uploadRecordBytes += bytes
        },
        log: logger('ferry:relay:replica')
      })
    }, { maxInboundStreams: REPLICA_MAX_STREAMS })
    node.addEventListener('peer:connect', e => { this.opts.print(`peer connected: ${this.nameOf(e.detail.toString())}`) })
    node.addEventListener('peer:disconnect', e => { this.opts.print(`peer disconnected: ${this.nameOf(e.detail.toString())}`) })
    await node.start()
    for (const ma of node.getMultiaddrs()) this.opts.print(`listening on ${ma.toString()}`)
    this.opts.print(`relay id ${this.self}`)
    this.opts.print(`${this.store.list().length} folder(s), history kept ${this.retentionDays()} day(s)`)
    this.gc.start()
    if (this.metricsServer !== undefined) {
      try {
        this.opts.print(`metrics on ${await this.metricsServer.start()}`)
      } catch (err) {
        await this.stop().catch(() => {})
        throw err
      }
    }
  }

  private nameOf (peer: string): string {
    const name = this.config.devices[peer]?.name
    return name === undefined ? peer : `${name} (${peer})`
  }

  private hangUp (peer: string, reason: Error): void {
    this.opts.print(`cutting off ${peer}: ${reason.message}`)
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
