import type { FileRecord } from '../model/file-record.ts'

/** what completion reads of one folder's record log */
export interface CompletionSource {
  ownRecords: () => Map<string, FileRecord>
  /** devices whose newest record of the path has exactly this version */
  holdersOf: (record: FileRecord) => string[]
}

/** of one folder: the weight of our live files, and how much of it each other device holds */
export interface FolderHoldings { total: number, held: Map<string, number> }

/**
 * One pass over our own records (not one per peer): a file weighs its size, at least 1 byte, so
 * empty files and directories count too.
 */
export function folderHoldings (f: CompletionSource): FolderHoldings {
  let total = 0
  const held = new Map<string, number>()
  for (const r of f.ownRecords().values()) {
    if (r.deleted) continue
    const weight = Math.max(1, r.type === 'file' ? r.size : 0)
    total += weight
    for (const peer of f.holdersOf(r)) held.set(peer, (held.get(peer) ?? 0) + weight)
  }
  return { total, held }
}

/** how long a folder's holdings are reused before `GET /status` counts them again */
export const DEFAULT_HOLDINGS_TTL_MS = 1_000

/**
 * Each folder's holdings, counted at most once per `ttlMs` (the count walks every record of the
 * folder: with 10,000 files ~25 ms, and a status polled every 100 ms while a folder synced spent
 * a seventh of the sending daemon's CPU on it). A completion is at most that old.
 */
export class HoldingsCache {
  private readonly counted = new Map<string, { at: number, holdings: FolderHoldings }>()
  private readonly ttlMs: number

  constructor (ttlMs = DEFAULT_HOLDINGS_TTL_MS) {
    this.ttlMs = ttlMs
  }

  of (folder: string, source: CompletionSource, now: number): FolderHoldings {
    const c = this.counted.get(folder)
    if (c !== undefined && now - c.at < this.ttlMs && now >= c.at) return c.holdings
    const holdings = folderHoldings(source)
    this.counted.set(folder, { at: now, holdings })
    return holdings
  }

  /** folders no longer synced are forgotten */
  keep (folders: ReadonlySet<string> | ReadonlyMap<string, unknown>): void {
    for (const f of this.counted.keys()) if (!folders.has(f)) this.counted.delete(f)
  }
}

/**
 * How far `peer` has what this device has, from the records we know, over the folders shared
 * with it: the weight of our live files whose version the peer's newest record of that path also
 * states, as a whole percentage of all of them. 100 when we hold nothing. Undefined when no folder
 * is shared.
 */
export function peerCompletion (folders: readonly FolderHoldings[], peer: string): number | undefined {
  if (folders.length === 0) return undefined
  const total = folders.reduce((sum, f) => sum + f.total, 0)
  const held = folders.reduce((sum, f) => sum + (f.held.get(peer) ?? 0), 0)
  return total === 0 ? 100 : Math.floor(held / total * 100)
}
