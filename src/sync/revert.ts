import type { Logger } from '@libp2p/logger'
import type { FolderStore } from '../store/folder-store.ts'
import { applyAction, removeUnshared } from './file-applier.ts'
import { StalePlanError, type ApplierComponents } from './applier-components.ts'
import type { DeleteGuard } from './delete-guard.ts'
import { sortActions, type Action } from './planner.ts'
import type { LocalChangeEntry } from './local-changes.ts'
import type { FileRecord } from '../model/file-record.ts'
import { statOwnPath } from './disk-state.ts'

export interface RevertResult {
  reverted: string[]
  failed: Array<{ path: string, error: string }>
}

/**
 * Puts the others' version back on every locally changed path: their content is fetched again
 * (or copied from local blocks), their deletes applied, and what only we have is deleted. Our
 * record of each path then adopts theirs (or, where they have nothing, becomes a tombstone), so
 * the folder equals the shared state. The same checks as syncing apply: an edit made meanwhile
 * is not overwritten (LocalChangeError: that path fails, the scanner records it).
 */
export async function revertLocalChanges (changes: readonly LocalChangeEntry[], c: ApplierComponents, signal?: AbortSignal): Promise<RevertResult> {
  const actions: Action[] = changes.map(ch => {
    const s = ch.shared
    if (s !== undefined && !s.deleted) return s.type === 'dir' ? { kind: 'mkdir', path: ch.path, record: s } : { kind: 'fetch', path: ch.path, record: s }
    // a delete of what only we have carries our own live record: see removeUnshared
    return { kind: 'delete', path: ch.path, record: s ?? ch.own }
  })
  const result: RevertResult = { reverted: [], failed: [] }
  // one at a time, in the planner's order: directories first, deletes deepest first
  for (const a of sortActions(actions)) {
    const base = c.store.own(a.path)?.seq ?? 0
    try {
      if (a.kind === 'delete' && !a.record.deleted) await removeUnshared(a.path, c, base)
      else await applyAction(a, c, base, signal)
      result.reverted.push(a.path)
    } catch (err) {
      result.failed.push({ path: a.path, error: (err as Error).message })
    }
  }
  return result
}

/**
 * Puts our own versions of `records` back on disk (`ferry revert` of deletes mass-delete
 * protection held): their content comes from local blocks or from peers that hold it, no new
 * version is made. A path that holds something again is left as it is.
 */
export async function reinstallRecords (records: readonly FileRecord[], c: ApplierComponents, signal?: AbortSignal): Promise<RevertResult> {
  const actions: Array<Extract<Action, { kind: 'mkdir' | 'fetch' }>> = records.map(r => r.type === 'dir' ? { kind: 'mkdir', path: r.path, record: r } : { kind: 'fetch', path: r.path, record: r })
  const result: RevertResult = { reverted: [], failed: [] }
  for (const a of sortActions(actions) as typeof actions) {
    const own = c.store.own(a.path)
    try {
      if (own === undefined || own.deleted || own.seq !== a.record.seq) throw new StalePlanError(a.path)
      if (await statOwnPath(c.root, a.path) === undefined) await applyAction(a, c, own.seq, signal)
      result.reverted.push(a.path)
    } catch (err) {
      result.failed.push({ path: a.path, error: (err as Error).message })
    }
  }
  return result
}

export interface HeldDeletesComponents {
  folder: string
  store: FolderStore
  log: Logger
  deletes: DeleteGuard
  /** paths being brought back: a scan meanwhile does not tombstone them again */
  reinstalling: Set<string>
  /** runs the job with the folder's applier, outside its sync loop */
  applyOutsideLoop: <T>(job: (c: ApplierComponents) => Promise<T>) => Promise<T>
  signal: AbortSignal
}

/** `ferry revert` of the deletes mass-delete protection holds: our versions of them come back. */
export async function reinstallHeldDeletes (c: HeldDeletesComponents): Promise<RevertResult> {
  const held = c.deletes.takeHeld()
  const records = held.map(ch => c.store.own(ch.path)).filter((r): r is FileRecord => r !== undefined && !r.deleted)
  for (const r of records) c.reinstalling.add(r.path)
  try {
    const result = await c.applyOutsideLoop(async a => await reinstallRecords(records, a, c.signal))
    c.log('%s: %d held deletes reverted, %d failed', c.folder, result.reverted.length, result.failed.length)
    return result
  } finally {
    for (const r of records) c.reinstalling.delete(r.path)
  }
}
