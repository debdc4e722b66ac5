import { collectDefaultMetrics, Counter, Registry } from 'prom-client'
import type { RelayStatus } from './relay-status.ts'
import type { BlockStore } from './store/block-store.ts'
import type { FolderUsage } from './store/folder-usage.ts'
import { scrapedCounter, scrapedGauge, type Samples } from '../src/metrics/scraped-counter.ts'

/** a walk of the block store is reused this long unless blocks were received since */
const STORAGE_WALK_MAX_AGE_MS = 60_000

export interface RelayMetricsSources {
  status: () => RelayStatus
  blocks: BlockStore
  /** each folder's distinct referenced blocks and bytes (walked with the block store) */
  folderUsage: () => Promise<Map<string, FolderUsage>>
  /** also prom-client's process metrics (`process_*`, `nodejs_*`): for a process that runs one relay */
  processMetrics?: boolean
}

interface Storage { blocks: number, bytes: number }

/**
 * The relay's Prometheus metrics (a registry of its own), read at scrape time from its status
 * and, for what is stored, a walk of the block store (redone when blocks arrived or a minute
 * passed). Blocks are shared by all folders (content-addressed): per folder, what it references.
 */
export class RelayMetrics {
  readonly registry = new Registry()
  private readonly src: RelayMetricsSources
  private snap?: RelayStatus
  private storage: Storage = { blocks: 0, bytes: 0 }
  private usage = new Map<string, FolderUsage>()
  private walkedAt = -Infinity
  private walkedAtReceived = -1
  private last: Promise<unknown> = Promise.resolve()
  private readonly servedBytes: Counter
  private readonly servedBlocks: Counter

  constructor (src: RelayMetricsSources) {
    this.src = src
    const r = this.registry
    if (src.processMetrics === true) collectDefaultMetrics({ register: r })
    const folders = (): RelayStatus['folders'] => this.snap?.folders ?? []
    const one = (f: (s: RelayStatus) => number) => (): Samples => this.snap === undefined ? [] : [[{}, f(this.snap)]]
    scrapedGauge(r, 'ferry_relay_stored_blocks', 'Blocks stored (all folders share them)', [], () => [[{}, this.storage.blocks]])
    scrapedGauge(r, 'ferry_relay_stored_bytes', 'Bytes of the blocks stored', [], () => [[{}, this.storage.bytes]])
    scrapedCounter(r, 'ferry_relay_received_block_bytes_total', 'Block bytes devices uploaded since start', [], one(s => s.receivedBlockBytes))
    scrapedCounter(r, 'ferry_relay_received_blocks_total', 'Blocks devices uploaded since start', [], one(s => s.receivedBlocks))
    scrapedCounter(r, 'ferry_relay_upload_record_bytes_total', 'Bytes of upload sessions\' record messages, both ways, since start', [], one(s => s.uploadRecordBytes))
    this.servedBytes = new Counter({ name: 'ferry_relay_sent_block_bytes_total', help: 'Block bytes served to devices since start (before compression)', registers: [r] })
    this.servedBlocks = new Counter({ name: 'ferry_relay_blocks_served_total', help: 'Blocks served to devices since start', registers: [r] })
    scrapedGauge(r, 'ferry_relay_members_connected', 'Trusted devices connected now', [], one(s => s.peers.filter(p => p.connected).length))
    scrapedGauge(r, 'ferry_relay_folders', 'Folders the relay keeps', [], one(s => s.folders.length))
    scrapedGauge(r, 'ferry_relay_folder_members', 'Devices that shared the folder with the relay', ['folder'], () => folders().map(f => [{ folder: f.id }, f.members.length]))
    scrapedGauge(r, 'ferry_relay_folder_paths', 'Paths the relay holds records for', ['folder'], () => folders().map(f => [{ folder: f.id }, f.paths]))
    scrapedGauge(r, 'ferry_relay_folder_stored_bytes', 'Bytes of the distinct blocks the folder references (blocks shared with other folders count in each)', ['folder'], () => [...this.usage].map(([folder, u]) => [{ folder }, u.bytes]))
    scrapedGauge(r, 'ferry_relay_device_stored_bytes', 'Bytes of the blocks the device uploaded first (what its quota counts)', ['device'], () => (this.snap?.quotas ?? []).map(q => [{ device: q.device }, q.usedBytes]))
    scrapedGauge(r, 'ferry_relay_device_quota_bytes', 'The device\'s storage quota (absent: unlimited)', ['device'], () => (this.snap?.quotas ?? []).flatMap(q => q.limitBytes === undefined ? [] : [[{ device: q.device }, q.limitBytes]]))
    scrapedGauge(r, 'ferry_relay_folder_stored_blocks', 'Distinct blocks the folder references', ['folder'], () => [...this.usage].map(([folder, u]) => [{ folder }, u.blocks]))
  }

  /** `block` (undefined: not held) is passed through and counted as served */
  served<T extends Uint8Array | undefined> (block: T): T {
    if (block === undefined) return block
    this.servedBytes.inc(block.byteLength)
    this.servedBlocks.inc()
    return block
  }

  async scrape (): Promise<string> {
    const run = this.last.then(async () => {
      this.snap = this.src.status()
      try {
        await this.refreshStorage(this.snap.receivedBlocks)
        return await this.registry.metrics()
      } finally {
        this.snap = undefined
      }
    })
    this.last = run.catch(() => {})
    return await run
  }

  private async refreshStorage (received: number): Promise<void> {
    if (received === this.walkedAtReceived && Date.now() - this.walkedAt < STORAGE_WALK_MAX_AGE_MS) return
    const s: Storage = { blocks: 0, bytes: 0 }
    for await (const b of this.src.blocks.list()) {
      s.blocks++
      s.bytes += b.size
    }
    this.storage = s
    this.usage = await this.src.folderUsage()
    this.walkedAt = Date.now()
    this.walkedAtReceived = received
  }
}
