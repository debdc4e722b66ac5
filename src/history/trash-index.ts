import { relative } from 'node:path'
import type { BlockRef } from '../model/file-record.ts'
import type { RecordReader } from '../store/record-log.ts'
import type { LocalIndex } from '../store/local-index.ts'

/** The folder's records and the block index trash blocks are added to. */
export type TrashIndexStore = RecordReader & Pick<LocalIndex, 'addBlockLocations' | 'removeBlockLocations'>
import { listTrash } from './trash.ts'

/**
 * Puts the blocks of trash files into the folder's block index, so that they are copied
 * locally (a version coming back costs no transfer) and served to peers (a device restoring a
 * version it no longer holds gets it from a peer's trash). A trash file's blocks are those of
 * our record named by its seq (current or in history); every read is verified, so a wrong or
 * changed trash file only costs a failed read.
 */
export class TrashIndex {
  private readonly root: string
  private readonly store: TrashIndexStore
  /** trash file (relative to the folder root) -> blocks indexed for it */
  private readonly indexed = new Map<string, readonly BlockRef[]>()
  private running?: Promise<void>
  private again = false

  constructor (root: string, store: TrashIndexStore) {
    this.root = root
    this.store = store
  }

  /** Brings the index in line with the trash directory; calls while one runs coalesce into one more. */
  async refresh (): Promise<void> {
    if (this.running !== undefined) {
      this.again = true
      return await this.running
    }
    this.running = (async () => {
      do {
        this.again = false
        await this.refreshOnce()
      } while (this.again)
    })().finally(() => { this.running = undefined })
    return await this.running
  }

  private async refreshOnce (): Promise<void> {
    const present = new Set<string>()
    for (const e of await listTrash(this.root)) {
      const rel = relative(this.root, e.file)
      present.add(rel)
      if (this.indexed.has(rel)) continue
      const own = this.store.own(e.path)
      const r = own?.seq === e.seq ? own : (await this.store.history(e.path)).find(h => h.record.device === this.store.self && h.record.seq === e.seq)?.record
      const blocks = r === undefined || r.deleted || r.type !== 'file' ? [] : r.blocks
      this.indexed.set(rel, blocks)
      this.store.addBlockLocations(rel, blocks)
    }
    for (const [rel, blocks] of this.indexed) {
      if (present.has(rel)) continue
      this.indexed.delete(rel)
      this.store.removeBlockLocations(rel, blocks)
    }
  }
}
