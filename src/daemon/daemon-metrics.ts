import { collectDefaultMetrics, Counter, Registry } from 'prom-client'
import type { DaemonStatus } from './status-types.ts'
import type { EventStreamStats } from '../api/sse.ts'
import { scrapedCounter, scrapedGauge, type Samples } from '../metrics/scraped-counter.ts'

/** What the daemon's metrics read at scrape time. */
export interface DaemonMetricsSources {
  /** undefined while the node is not started */
  status: () => DaemonStatus | undefined
  eventStreams: () => EventStreamStats
  /** blocks received per peer since start (the block fetcher's counts) */
  blocksFetched: () => ReadonlyMap<string, number>
  /**
   * also prom-client's process metrics (`process_*`, `nodejs_*`): for a process that runs one
   * daemon (the CLI), as they watch the whole process and are never unregistered
   */
  processMetrics?: boolean
}


const perPeer = (m: Record<string, number> | ReadonlyMap<string, number>): Samples =>
  (m instanceof Map ? [...m] : Object.entries(m)).map(([peer, v]) => [{ peer }, v])

/**
 * The daemon's Prometheus metrics, in a registry of its own (two daemons in one process, as the
 * tests run them, do not mix). Almost everything is read at scrape time from counters and status
 * the daemon keeps anyway; only blocks served and files applied are counted here.
 */
export class DaemonMetrics {
  readonly registry = new Registry()
  private readonly src: DaemonMetricsSources
  /** one status per scrape, shared by every collect callback */
  private snap?: DaemonStatus
  private last: Promise<unknown> = Promise.resolve()
  private readonly servedBytes: Counter
  private readonly servedBlocks: Counter
  private readonly applied: Counter
  /** per folder: when a scrape last saw it in sync (or first saw it) */
  private readonly inSyncAt = new Map<string, number>()

  constructor (src: DaemonMetricsSources) {
    this.src = src
    const r = this.registry
    if (src.processMetrics === true) collectDefaultMetrics({ register: r })
    const folders = (): DaemonStatus['folders'] => this.snap?.folders ?? []
    const perFolder = (f: (s: DaemonStatus['folders'][number]) => number): Samples => folders().map(s => [{ folder: s.id }, f(s)])
    scrapedCounter(r, 'ferry_block_received_bytes_total', 'Block bytes received from each peer since start', ['peer'], () => perPeer(this.snap?.receivedBytes ?? {}))
    scrapedCounter(r, 'ferry_blocks_fetched_total', 'Blocks received from each peer since start', ['peer'], () => perPeer(this.src.blocksFetched()))
    this.servedBytes = new Counter({ name: 'ferry_block_sent_bytes_total', help: 'Block bytes served to each peer since start (before compression)', labelNames: ['peer'], registers: [r] })
    this.servedBlocks = new Counter({ name: 'ferry_blocks_served_total', help: 'Blocks served to each peer since start', labelNames: ['peer'], registers: [r] })
    scrapedCounter(r, 'ferry_index_received_bytes_total', 'Bytes of index messages received on our subscriptions to each peer', ['peer'], () => Object.entries(this.snap?.indexTraffic ?? {}).map(([peer, t]) => [{ peer }, t.receivedBytes]))
    scrapedCounter(r, 'ferry_index_sent_bytes_total', 'Bytes of index messages sent on our subscriptions to each peer', ['peer'], () => Object.entries(this.snap?.indexTraffic ?? {}).map(([peer, t]) => [{ peer }, t.sentBytes]))
    scrapedCounter(r, 'ferry_index_records_received_total', 'Signed records received on our subscriptions to each peer', ['peer'], () => Object.entries(this.snap?.indexTraffic ?? {}).map(([peer, t]) => [{ peer }, t.records]))
    this.applied = new Counter({ name: 'ferry_files_applied_total', help: 'Remote changes applied to disk, by folder and action', labelNames: ['folder', 'action'], registers: [r] })
    scrapedGauge(r, 'ferry_folder_need_files', 'Files this device still needs to be in sync', ['folder'], () => perFolder(s => s.needFiles))
    scrapedGauge(r, 'ferry_folder_need_bytes', 'Bytes this device still needs to be in sync', ['folder'], () => perFolder(s => s.needBytes))
    scrapedGauge(r, 'ferry_folder_in_sync', '1 when the folder is in sync with every connected member', ['folder'], () => perFolder(s => s.inSync ? 1 : 0))
    scrapedGauge(r, 'ferry_folder_stopped', '1 when the folder is stopped (root missing, marker missing...)', ['folder'], () => perFolder(s => s.stopped === undefined ? 0 : 1))
    scrapedGauge(r, 'ferry_folder_held_deletes', 'Deletes held by mass-delete protection', ['folder'], () => perFolder(s => s.heldDeletes?.count ?? 0))
    scrapedGauge(r, 'ferry_folder_local_files', 'Files in the local index', ['folder'], () => perFolder(s => s.localFiles))
    scrapedGauge(r, 'ferry_folder_local_bytes', 'Bytes of the files in the local index', ['folder'], () => perFolder(s => s.localBytes))
    scrapedGauge(r, 'ferry_folder_path_errors', 'Paths with a problem of their own, by error code (paths past the listed ones count as code "unlisted")', ['folder', 'code'], () => folders().flatMap(s => pathErrorsByCode(s)))
    scrapedCounter(r, 'ferry_replica_sent_bytes_total', 'Block bytes the folder\'s replicas (relays) acknowledged since start', ['folder'], () => folders().flatMap(s => s.replicaSentBytes === undefined ? [] : [[{ folder: s.id }, s.replicaSentBytes]]))
    scrapedGauge(r, 'ferry_folder_out_of_sync_seconds', 'Sync lag: seconds since a scrape last saw the folder in sync (0: in sync now)', ['folder'], () => perFolder(s => this.lagSeconds(s)))
    scrapedGauge(r, 'ferry_folder_transfers', 'Files being received now (the download queue at work)', ['folder'], () => perFolder(s => s.transfers.length))
    scrapedGauge(r, 'ferry_uploads_active', 'Files being served to peers now (uploads with a block in the last 10 s)', [], () => [[{}, this.snap?.uploads?.length ?? 0]])
    scrapedGauge(r, 'ferry_peer_info', 'A connected peer and how it is reached (path: lan, direct, punched, relayed; transport: tcp, webrtc, circuit)', ['peer', 'path', 'transport'], () => (this.snap?.peers ?? []).filter(p => p.connected && p.path !== undefined).map(p => [{ peer: p.id, path: p.path!, transport: p.transport ?? 'unknown' }, 1]))
    scrapedGauge(r, 'ferry_peers_connected', 'Trusted devices connected now', [], () => [[{}, this.snap?.peers.filter(p => p.connected).length ?? 0]])
    scrapedGauge(r, 'ferry_peers_known', 'Devices in the config', [], () => [[{}, this.snap?.peers.length ?? 0]])
    const limits = (): NonNullable<DaemonStatus['limits']> | undefined => this.snap?.limits
    scrapedGauge(r, 'ferry_block_rate_bytes_per_second', 'Block traffic over the last 3 s, by direction', ['direction'], () => limits() === undefined ? [] : [[{ direction: 'upload' }, limits()!.uploadRate], [{ direction: 'download' }, limits()!.downloadRate]])
    scrapedGauge(r, 'ferry_block_rate_limit_bytes_per_second', 'Daemon-wide rate limit on block traffic, by direction (0: unlimited)', ['direction'], () => limits() === undefined ? [] : [[{ direction: 'upload' }, limits()!.uploadBytesPerSecond ?? 0], [{ direction: 'download' }, limits()!.downloadBytesPerSecond ?? 0]])
    scrapedGauge(r, 'ferry_event_stream_clients', 'Event streams (GET /events) open now', [], () => [[{}, this.src.eventStreams().clients]])
    scrapedCounter(r, 'ferry_event_stream_dropped_total', 'Event stream clients cut off for falling behind', [], () => [[{}, this.src.eventStreams().dropped]])
    scrapedCounter(r, 'ferry_event_stream_refused_total', 'Event stream requests refused because too many were open', [], () => [[{}, this.src.eventStreams().refused]])
  }

  /** `block` (read for `peer`; undefined: not held) is passed through and counted as served */
  served<T extends Uint8Array | undefined> (peer: string, block: T): T {
    if (block === undefined) return block
    this.servedBytes.inc({ peer }, block.byteLength)
    this.servedBlocks.inc({ peer })
    return block
  }

  private lagSeconds (s: DaemonStatus['folders'][number]): number {
    const now = Date.now()
    if (s.inSync || !this.inSyncAt.has(s.id)) this.inSyncAt.set(s.id, now)
    return s.inSync ? 0 : (now - this.inSyncAt.get(s.id)!) / 1000
  }

  /** a remote change was applied to disk */
  fileApplied (folder: string, action: string): void {
    this.applied.inc({ folder, action })
  }

  /** The metrics in the Prometheus text format, from one status taken now. */
  async scrape (): Promise<string> {
    // one scrape at a time: the snapshot is shared by the collect callbacks
    const run = this.last.then(async () => {
      this.snap = this.src.status()
      try {
        return await this.registry.metrics()
      } finally {
        this.snap = undefined
      }
    })
    this.last = run.catch(() => {})
    return await run
  }
}

function pathErrorsByCode (s: DaemonStatus['folders'][number]): Samples {
  const byCode = new Map<string, number>()
  for (const e of s.errors) byCode.set(e.code, (byCode.get(e.code) ?? 0) + 1)
  const unlisted = s.errorCount - s.errors.length
  if (unlisted > 0) byCode.set('unlisted', unlisted)
  return [...byCode].map(([code, n]) => [{ folder: s.id, code }, n])
}
