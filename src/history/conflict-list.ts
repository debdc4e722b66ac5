import { contentKey, type FileRecord } from '../model/file-record.ts'
import type { RecordReader } from '../store/record-log.ts'
import { parseConflictPath, shortDeviceId } from '../sync/conflict-name.ts'

export interface ConflictCopy {
  folder: string
  /** the conflict copy */
  path: string
  /** the path it was kept beside */
  original: string
  /** the author of the losing version: a full device id when one known here matches */
  device: string
  /** that version's mtime, as its name says (ISO, second resolution) */
  time: string
  size: number
  /** the copy's record: its mtime and the device that made its content */
  mtimeMs: number
  modifiedBy: string
}

/**
 * The conflict copies this device holds in one folder (live files with a conflict name).
 * `deviceLabel`: how conflict names name a device (`conflictLabel`), to find the author of a copy
 * named after a device's name; the id form is always recognised.
 */
export async function listConflicts (store: RecordReader, deviceLabel?: (device: string) => string): Promise<ConflictCopy[]> {
  const devices = [store.self, ...store.devices()]
  const out: ConflictCopy[] = []
  for (const [path, r] of store.ownRecords()) {
    if (r.deleted || r.type !== 'file') continue
    const parsed = parseConflictPath(path)
    if (parsed === undefined) continue
    // the name's device part is an id's last 7 characters or a device's name (conflictLabel); a
    // name this device does not give anyone (the one a peer gives this device itself, when the
    // peer made the copy) is found through the version the copy keeps
    const device = r.modifiedBy.endsWith(parsed.shortDevice)
      ? r.modifiedBy
      : devices.find(d => shortDeviceId(d) === parsed.shortDevice) ?? devices.find(d => deviceLabel?.(d) === parsed.shortDevice) ?? await authorOf(store, parsed.original, r) ?? parsed.shortDevice
    out.push({ folder: store.folder, path, original: parsed.original, device, time: new Date(parsed.timeMs).toISOString(), size: r.size, mtimeMs: r.mtimeMs, modifiedBy: r.modifiedBy })
  }
  return out.sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
}

/**
 * Who wrote the version a copy keeps: a record of the path it was kept beside (current, a peer's,
 * or superseded in the history) with the copy's content and mtime (a copy keeps both).
 */
async function authorOf (store: RecordReader, original: string, copy: FileRecord): Promise<string | undefined> {
  const same = (r: FileRecord | undefined): boolean => r !== undefined && !r.deleted && r.mtimeMs === copy.mtimeMs && contentKey(r) === contentKey(copy)
  const current = [store.own(original), ...store.remoteOf(original)].find(same)
  if (current !== undefined) return current.modifiedBy
  return (await store.history(original)).find(h => same(h.record))?.record.modifiedBy
}
