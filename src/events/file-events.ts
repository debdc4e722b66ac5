import { contentKey, type FileRecord } from '../model/file-record.ts'
import type { RecordReader } from '../store/record-log.ts'
import type { EventFields } from './event-bus.ts'
import type { FileChangeEvent } from './event-catalog.ts'
import type { EventSink } from './node-events.ts'

/** a delete and an add of the same content this close together are reported as one rename */
export const DEFAULT_RENAME_WINDOW_MS = 250
/** pending file events are published at the latest this long after the first */
export const DEFAULT_MAX_EVENT_DELAY_MS = 2_000

type FileChange = EventFields & { type: 'file.added' | 'file.changed' | 'file.deleted' }
/** a change and the content it concerns (the new content; for a delete, the old one) */
interface Change { event: FileChange, key: string | undefined }

/**
 * Turns changes of this device's own records (the scanner recording a user's edit, or the
 * applier installing a peer's version) into file events. Events wait a moment so that a
 * delete and an add of the same content become `file.renamed` (on a receiving device the new
 * name is assembled before the old one is deleted, in separate commits). Returns a stop function.
 */
export function trackFileEvents (store: RecordReader, events: EventSink, options: { renameWindowMs?: number, maxDelayMs?: number } = {}): () => void {
  const windowMs = options.renameWindowMs ?? DEFAULT_RENAME_WINDOW_MS
  const maxDelayMs = options.maxDelayMs ?? DEFAULT_MAX_EVENT_DELAY_MS
  // what each path held when last reported: its content key
  const known = new Map<string, string>()
  for (const r of store.ownRecords().values()) if (!r.deleted) known.set(r.path, contentKey(r))
  let pending: Change[] = []
  let quietTimer: NodeJS.Timeout | undefined
  let maxTimer: NodeJS.Timeout | undefined

  const flush = (): void => {
    clearTimeout(quietTimer)
    clearTimeout(maxTimer)
    maxTimer = undefined
    const changes = pending
    pending = []
    for (const e of pairRenames(changes)) events.emit(fileEventOf(e))
  }

  const unsubscribe = store.onChange(paths => {
    for (const path of new Set(paths)) {
      const r = store.own(path)
      if (r === undefined) continue
      const was = known.get(path)
      const now = r.deleted ? undefined : contentKey(r)
      if (was === now) continue // an adoption, an mtime, or someone else's record
      if (now === undefined) known.delete(path)
      else known.set(path, now)
      pending.push(changeOf(store.folder, r, was, now))
    }
    if (pending.length === 0) return
    clearTimeout(quietTimer)
    quietTimer = setTimeout(flush, windowMs)
    maxTimer ??= setTimeout(flush, maxDelayMs)
  })
  return () => {
    unsubscribe()
    flush()
  }
}

function changeOf (folder: string, r: FileRecord, was: string | undefined, now: string | undefined): Change {
  const type = now === undefined ? 'file.deleted' : was === undefined ? 'file.added' : 'file.changed'
  // a tombstone does not say whether a file or a directory went: its record's type does
  return { event: { type, folder, path: r.path, entry: r.type, size: r.deleted ? 0 : r.size, device: r.modifiedBy }, key: now ?? was }
}

/**
 * A delete and an add of the same non-empty file content in one batch become one rename, at
 * the place of whichever came second (empty files all look alike: they are not paired).
 */
export function pairRenames (changes: readonly Change[]): EventFields[] {
  const out: Array<EventFields | undefined> = changes.map(c => c.event)
  const unpaired = new Map<string, number[]>() // content key -> indices of unpaired deletes and adds
  changes.forEach((c, i) => {
    const e = c.event
    if (e.entry !== 'file' || e.type === 'file.changed' || c.key === undefined || isEmptyFile(c.key)) return
    const list = unpaired.get(c.key) ?? []
    const j = list.findIndex(k => changes[k]!.event.type !== e.type)
    if (j < 0) {
      unpaired.set(c.key, [...list, i])
      return
    }
    const earlier = list.splice(j, 1)[0]!
    const other = changes[earlier]!.event
    const [from, to] = e.type === 'file.deleted' ? [e, other] : [other, e]
    out[earlier] = undefined
    out[i] = { type: 'file.renamed', folder: to.folder, from: from.path, path: to.path, entry: 'file', size: to.size, device: to.device }
  })
  return out.filter((e): e is EventFields => e !== undefined)
}

/** the node event of a file change (pairRenames returns only file changes) */
function fileEventOf (e: EventFields): FileChangeEvent {
  if (e.type === 'file.renamed') return { type: e.type, detail: { folder: e.folder, from: e.from, path: e.path, entry: e.entry, size: e.size, device: e.device } }
  if (e.type !== 'file.added' && e.type !== 'file.changed' && e.type !== 'file.deleted') throw new Error(`not a file change: ${e.type}`)
  return { type: e.type, detail: { folder: e.folder, path: e.path, entry: e.entry, size: e.size, device: e.device } }
}

function isEmptyFile (key: string): boolean {
  return /^file:[x-]:0:/.test(key)
}
