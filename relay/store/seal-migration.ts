import type { CID } from 'multiformats/cid'
import { decodeStoredRecord } from '../../src/log/signed-record.ts'
import { cidKey } from '../../src/hashing/block-cid.ts'
import type { RecordLog } from '../../src/store/record-log.ts'

/** What a folder's switch to sealed removed from the relay. */
export interface SealMigration { folder: string, records: number, blocks: number, bytes: number }

/** every block the current records and history of these logs reference */
export async function referencedBlocks (logs: readonly RecordLog[]): Promise<{ blocks: Map<string, CID>, records: number }> {
  const blocks = new Map<string, CID>()
  let records = 0
  for (const log of logs) {
    for await (const stored of log.storedRecords()) {
      records++
      for (const b of decodeStoredRecord(stored.envelope()).record.blocks) blocks.set(cidKey(b.cid), b.cid)
    }
    for await (const h of log.allHistory()) {
      records++
      for (const b of h.record.blocks) blocks.set(cidKey(b.cid), b.cid)
    }
  }
  return { blocks, records }
}
