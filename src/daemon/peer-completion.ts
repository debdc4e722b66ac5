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
