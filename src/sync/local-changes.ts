import { compareVersions } from '../model/version-vector.ts'
import { contentKey, type FileRecord } from '../model/file-record.ts'
import { globalWinner } from './planner.ts'

/**
 * A path where this device's own version is one the others have not accepted (on a read-only
 * member: its own edits). Versions the others are ahead on are downloads, not local changes.
 */
export interface LocalChangeEntry {
  path: string
  kind: 'added' | 'changed' | 'deleted'
  own: FileRecord
  /** the others' version of the path (undefined: they have none) */
  shared?: FileRecord
}

export interface LocalChangesLookup {
  paths: () => Iterable<string>
  own: (path: string) => FileRecord | undefined
  /** other devices' newest records whose changes are accepted */
  shared: (path: string) => readonly FileRecord[]
}

/** Pure: every path whose own version differs from the accepted global one and is not behind it. */
export function localChanges (lookup: LocalChangesLookup): LocalChangeEntry[] {
  const out: LocalChangeEntry[] = []
  for (const path of lookup.paths()) {
    const own = lookup.own(path)
    if (own === undefined) continue
    const shared = globalWinner(lookup.shared(path))
    const sharedLive = shared !== undefined && !shared.deleted
    if (own.deleted) {
      if (sharedLive && compareVersions(own.version, shared.version) !== 'lesser') out.push({ path, kind: 'deleted', own, shared })
      continue
    }
    if (!sharedLive) {
      // a live version nobody else has: ours (a tombstone that is ahead of ours is a pending delete)
      if (shared === undefined || compareVersions(own.version, shared.version) !== 'lesser') out.push({ path, kind: 'added', own, ...(shared === undefined ? {} : { shared }) })
      continue
    }
    if (contentKey(own) === contentKey(shared)) continue
    if (compareVersions(own.version, shared.version) !== 'lesser') out.push({ path, kind: 'changed', own, shared })
  }
  return out.sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
}
