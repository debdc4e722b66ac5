import { decodeSignedRecord } from '../../src/log/signed-record.ts'
import { toError } from '../../protocols/wire/errors.ts'
import type { RelayStore } from './relay-store.ts'
import type { StoredEnvelope } from '../../src/store/record-log.ts'

export interface VerifyReport {
  blocks: number
  blockBytes: number
  /** blocks whose bytes do not hash to their name (moved to `relay/blocks/damaged/`), or packed
   * ones that could not be read (left where they are) */
  damagedBlocks: string[]
  records: number
  history: number
  damagedRecords: Array<{ folder: string, key: string, error: string }>
  /** blocks referenced by a current record that the relay does not hold (not damage: another
   * device may have uploaded a record whose author never uploaded its blocks yet) */
  missingBlocks: number
  ok: boolean
}

/**
 * Scrub: re-hashes every stored block and checks every stored record's signature (current and
 * history). Damaged blocks are quarantined so that devices holding them upload them again.
 */
export async function verifyRelay (store: RelayStore): Promise<VerifyReport> {
  const report: VerifyReport = { blocks: 0, blockBytes: 0, damagedBlocks: [], records: 0, history: 0, damagedRecords: [], missingBlocks: 0, ok: true }
  for await (const b of store.blocks.list()) {
    report.blocks++
    report.blockBytes += b.size
    const state = await store.blocks.check(b.cid)
    if (state === 'missing') continue // deleted meanwhile
    if (state !== 'ok') report.damagedBlocks.push(b.cid.toString())
    // a pack that cannot be read now is reported, not given up: its bytes may be fine
    if (state === 'damaged') await store.blocks.quarantine(b.cid)
  }
  const checkRecord = async (folder: string, stored: StoredEnvelope, current: boolean): Promise<void> => {
    try {
      const s = await decodeSignedRecord(stored.envelope())
      if (s.record.folder !== folder) throw new Error(`record of folder ${s.record.folder}`)
      if (!stored.storedAs(s.record)) throw new Error('stored under another device, seq or path')
      if (current) {
        for (const blk of s.record.blocks) if (!(await store.blocks.has(blk.cid))) report.missingBlocks++
      }
    } catch (err) {
      report.damagedRecords.push({ folder, key: stored.key, error: toError(err).message })
    }
  }
  for (const f of store.list()) {
    for await (const stored of f.log.storedRecords()) {
      report.records++
      await checkRecord(f.id, stored, true)
    }
    for await (const stored of f.log.storedHistory()) {
      report.history++
      await checkRecord(f.id, stored, false)
    }
  }
  report.ok = report.damagedBlocks.length === 0 && report.damagedRecords.length === 0
  return report
}
