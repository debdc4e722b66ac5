import type { Logger } from '@libp2p/logger'
import { decodeStoredRecord } from '../../src/log/signed-record.ts'
import type { RelayStore } from './relay-store.ts'
import type { FileRecord } from '../../src/model/file-record.ts'
import { cidKey } from '../../src/hashing/block-cid.ts'

export const DEFAULT_RETENTION_DAYS = 30
export const DAY_MS = 24 * 60 * 60 * 1000
export const DEFAULT_GC_INTERVAL_MS = 60 * 60 * 1000
export const DEFAULT_GC_FIRST_RUN_MS = 60 * 1000
/**
 * An unreferenced block younger than this is kept: a device uploads blocks before the record
 * that references them (a huge file's record only after all its blocks), and `has` refreshes
 * the mtime of blocks it reports as held. A single file taking longer than this to upload could
 * lose its first blocks; the device's next audit sends them again.
 */
export const DEFAULT_GC_GRACE_MS = 24 * 60 * 60 * 1000

export interface GcOptions { retentionMs: number, graceMs?: number, nowMs?: number }
/** `freedBytes`: of the blocks deleted; `compactedPacks`, `reclaimedBytes`: packs rewritten without their dead blocks, and the disk space that gave back */
export interface GcReport { expiredRecords: number, deletedBlocks: number, freedBytes: number, keptBlocks: number, compactedPacks: number, reclaimedBytes: number }

/**
 * One collection: drops history entries superseded more than `retentionMs` ago, then deletes
 * blocks referenced by no current record and no remaining history entry (and older than the
 * grace period), then compacts the packs those deletions left mostly dead. Reads and unlinks go through the event loop in small steps, so uploads and
 * downloads keep running meanwhile.
 */
export async function collectGarbage (store: RelayStore, opts: GcOptions): Promise<GcReport> {
  const now = opts.nowMs ?? Date.now()
  const graceMs = opts.graceMs ?? DEFAULT_GC_GRACE_MS
  const referenced = new Set<string>()
  const report: GcReport = { expiredRecords: 0, deletedBlocks: 0, freedBytes: 0, keptBlocks: 0, compactedPacks: 0, reclaimedBytes: 0 }
  const reference = (record: FileRecord): void => {
    for (const b of record.blocks) referenced.add(cidKey(b.cid))
  }
  for (const f of store.list()) {
    report.expiredRecords += await f.log.expireHistory(supersededAtMs => supersededAtMs + opts.retentionMs <= now)
    for await (const h of f.log.allHistory()) reference(h.record)
    for await (const stored of f.log.storedRecords()) reference(decodeStoredRecord(stored.envelope()).record)
  }
  for await (const b of store.blocks.list()) {
    if (referenced.has(cidKey(b.cid)) || b.mtimeMs + graceMs > now) {
      report.keptBlocks++
      continue
    }
    await store.deleteBlock(b.cid)
    report.deletedBlocks++
    report.freedBytes += b.size
  }
  const compacted = await store.blocks.compact()
  report.compactedPacks = compacted.packs
  report.reclaimedBytes = compacted.freedBytes
  return report
}

/** Runs `collectGarbage` in the background: once shortly after start, then every interval. */
export class GarbageCollector {
  private readonly store: RelayStore
  private readonly retentionMs: number
  private readonly intervalMs: number
  private readonly firstRunMs: number
  private readonly log: Logger
  private timer?: NodeJS.Timeout
  private running?: Promise<void>

  constructor (opts: { store: RelayStore, retentionMs: number, intervalMs?: number, firstRunMs?: number, log: Logger }) {
    this.store = opts.store
    this.retentionMs = opts.retentionMs
    this.intervalMs = opts.intervalMs ?? DEFAULT_GC_INTERVAL_MS
    this.firstRunMs = opts.firstRunMs ?? DEFAULT_GC_FIRST_RUN_MS
    this.log = opts.log
  }

  start (): void {
    const schedule = (ms: number): void => {
      this.timer = setTimeout(() => {
        this.running = this.runOnce().finally(() => { this.running = undefined; if (this.timer !== undefined) schedule(this.intervalMs) })
      }, ms)
      this.timer.unref()
    }
    schedule(this.firstRunMs)
  }

  async runOnce (): Promise<void> {
    try {
      const r = await collectGarbage(this.store, { retentionMs: this.retentionMs })
      this.log('gc: %d history records expired, %d blocks deleted (%d bytes), %d kept, %d packs compacted (%d bytes reclaimed)', r.expiredRecords, r.deletedBlocks, r.freedBytes, r.keptBlocks, r.compactedPacks, r.reclaimedBytes)
    } catch (err) {
      this.log.error('gc failed: %s', (err as Error).message)
    }
  }

  async stop (): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    await this.running
  }
}
