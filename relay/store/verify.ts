import { readFile } from 'node:fs/promises'
import { blockMatches } from '../../src/hashing/block-cid.ts'
import { decodeSignedRecord } from '../../src/log/signed-record.ts'
import { toError } from '../../protocols/wire/errors.ts'
import { decodeHistory, type RelayStore } from './relay-store.ts'

export interface VerifyReport {
  blocks: number
  blockBytes: number
  /** blocks whose bytes do not hash to their name; moved to `relay/blocks/damaged/` */
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
    let good = false
    try { good = blockMatches(b.cid, await readFile(b.path)) } catch { good = false }
    if (!good) {
      report.damagedBlocks.push(b.cid.toString())
      await store.blocks.quarantine(b.cid)
    }
  }
  const checkRecord = async (folder: string, key: string, envelope: Uint8Array): Promise<void> => {
    try {
      const s = await decodeSignedRecord(envelope)
      if (s.record.folder !== folder) throw new Error(`record of folder ${s.record.folder}`)
      // current records are `r:<device>:<seq>`, history `h:<path>\0<device>\0<seq>`
      const rest = key.slice(2)
      const [device, seq, path] = key.startsWith('h:')
        ? (([p, d, q]) => [d, q, p])(rest.split('\0'))
        : [rest.slice(0, rest.lastIndexOf(':')), rest.slice(rest.lastIndexOf(':') + 1), s.record.path]
      if (device !== s.record.device || Number(seq) !== s.record.seq || path !== s.record.path) {
        throw new Error('stored under another device, seq or path')
      }
      if (key.startsWith('r:')) {
        for (const blk of s.record.blocks) if (!(await store.blocks.has(blk.cid))) report.missingBlocks++
      }
    } catch (err) {
      report.damagedRecords.push({ folder, key, error: toError(err).message })
    }
  }
  for (const f of store.list()) {
    for await (const { key, value } of store.currentRecords(f)) {
      report.records++
      await checkRecord(f.id, key, value)
    }
    for await (const [key, value] of f.db.iterator({ gte: 'h:', lt: 'h;' })) {
      report.history++
      try {
        await checkRecord(f.id, key, decodeHistory(key, value).envelope)
      } catch (err) {
        report.damagedRecords.push({ folder: f.id, key, error: toError(err).message })
      }
    }
  }
  report.ok = report.damagedBlocks.length === 0 && report.damagedRecords.length === 0
  return report
}
