import { decodeStoredRecord } from '../../src/log/signed-record.ts'
import { cidKey } from '../../src/hashing/block-cid.ts'
import type { FileRecord } from '../../src/model/file-record.ts'
import type { RecordLog } from '../../src/store/record-log.ts'

/** What one folder keeps on the relay: the distinct blocks its records and kept history reference. */
export interface FolderUsage {
  blocks: number
  bytes: number
}

/**
 * The blocks `log`'s current records and history reference, each counted once. Blocks are
 * content-addressed and shared: one held by two folders counts in both, so the folders' sum can
 * exceed what the block store holds (`ferry_relay_stored_bytes`).
 */
export async function folderUsage (log: RecordLog): Promise<FolderUsage> {
  const seen = new Set<string>()
  const usage: FolderUsage = { blocks: 0, bytes: 0 }
  const add = (record: FileRecord): void => {
    for (const b of record.blocks) {
      const key = cidKey(b.cid)
      if (seen.has(key)) continue
      seen.add(key)
      usage.blocks++
      usage.bytes += b.size
    }
  }
  for await (const stored of log.storedRecords()) add(decodeStoredRecord(stored.envelope()).record)
  for await (const h of log.allHistory()) add(h.record)
  return usage
}
