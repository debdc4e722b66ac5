import type { FileRecord } from '../model/file-record.ts'

/** what completion reads of one folder's record log */
export interface CompletionSource {
  ownRecords: () => Map<string, FileRecord>
  /** devices whose newest record of the path has exactly this version */
  holdersOf: (record: FileRecord) => string[]
}

/**
 * How far `peer` has what this device has, from the records we know, over the folders shared
 * with it: the bytes of our live files (a file counts at least one byte, so empty files and
 * directories count too) whose version the peer's newest record of that path also states, as a
 * whole percentage of all of them. 100 when we hold nothing. Undefined when no folder is shared.
 */
export function peerCompletion (folders: readonly CompletionSource[], peer: string): number | undefined {
  if (folders.length === 0) return undefined
  let total = 0
  let held = 0
  for (const f of folders) {
    for (const r of f.ownRecords().values()) {
      if (r.deleted) continue
      const weight = Math.max(1, r.type === 'file' ? r.size : 0)
      total += weight
      if (f.holdersOf(r).includes(peer)) held += weight
    }
  }
  return total === 0 ? 100 : Math.floor(held / total * 100)
}
