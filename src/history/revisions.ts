import { createHash } from 'node:crypto'
import { contentKey, type FileRecord } from '../model/file-record.ts'
import type { Role } from '../config/config.ts'
import type { RecordReader } from '../store/record-log.ts'
import { globalWinner } from '../sync/planner.ts'
import { FerryError } from '../errors.ts'
import { validatePath } from '../model/paths.ts'
import { listTrash } from './trash.ts'

/**
 * Every version of a path this device knows (the newest records of all devices plus the
 * superseded records kept in history), and where each one's content can be had.
 *
 * A version is named by its version vector: `versionId` is the first 12 hex digits of the
 * SHA-256 of the vector's `device:counter` pairs, sorted. The vector names one version on every
 * device (a device that adopts a peer's version records the same vector), so the id is the same
 * wherever it is listed, and it never changes.
 */

export interface VersionCatalogComponents {
  folder: string
  root: string
  store: RecordReader
  /** the folder's members (a replica member is the relay) */
  members: Record<string, Role>
  /** asks the connected relays for the versions of `path` they keep (signature-checked) */
  remoteHistory?: (path: string) => Promise<RemoteHistory>
}

/** What the relays said: which ones answered, and the records they keep of one path. */
export interface RemoteHistory {
  answered: string[]
  versions: Array<{ record: FileRecord, from: string }>
}

export type RevisionSource =
  /** the file in the folder holds this content now */
  | { kind: 'local' }
  /** the local trash holds it */
  | { kind: 'trash', file: string }
  /** this peer's newest record is this content (as of the last sync with it) */
  | { kind: 'peer', device: string }
  /** a peer or the relay may still hold it (in its trash or history); not checkable from here */
  | { kind: 'peers' | 'relay', status: 'unknown', device?: string }
  /** the relay keeps this version (its record, and the blocks for the retention period) */
  | { kind: 'relay', status: 'available', device: string }

export interface Revision {
  versionId: string
  /** the version's mtime (for a deletion: when it was deleted), ISO */
  time: string
  /** the device that made it */
  device: string
  size: number
  deleted: boolean
  type: FileRecord['type']
  /** the version that holds the path now, everywhere in sync */
  current: boolean
  sources: RevisionSource[]
}

export interface DeletedFile {
  path: string
  deletedAt: string
  deletedBy: string
  /** the newest version that had content, when known */
  lastVersionId?: string
  size?: number
}

export function versionId (r: Pick<FileRecord, 'version'>): string {
  const pairs = Object.entries(r.version).map(([d, n]) => `${d}:${n}`).sort()
  return createHash('sha256').update(pairs.join(',')).digest('hex').slice(0, 12)
}

export class UnknownFolderError extends FerryError {
  constructor (folder: string) {
    super(`no folder ${folder}`, 'ERR_FERRY_FOLDER_NOT_FOUND', 'run `ferry folder list`')
  }
}

export class UnknownPathError extends FerryError {
  constructor (folder: string, path: string) {
    super(`no version of ${path} is known in folder ${folder}`, 'ERR_FERRY_PATH_NOT_FOUND', `\`ferry revisions ${folder} --deleted\` lists deleted files`)
  }
}

function currentRecords (store: RecordReader, path: string): FileRecord[] {
  const own = store.own(path)
  return own === undefined ? store.remoteOf(path) : [own, ...store.remoteOf(path)]
}

/** All known records of `path`, one per version (newest first by mtime). */
export async function versionsOf (store: RecordReader, path: string, remote: readonly FileRecord[] = []): Promise<FileRecord[]> {
  const byId = new Map<string, FileRecord>()
  for (const r of [...currentRecords(store, path), ...(await store.history(path)).map(h => h.record), ...remote]) {
    const id = versionId(r)
    const seen = byId.get(id)
    // the author's own record of a version is the one to show
    if (seen === undefined || (seen.device !== seen.modifiedBy && r.device === r.modifiedBy)) byId.set(id, r)
  }
  return [...byId.values()].sort((a, b) => b.mtimeMs - a.mtimeMs || (versionId(a) < versionId(b) ? -1 : 1))
}

/** Trash files of `path`, by the content our record said they hold. */
async function trashByContent (c: VersionCatalogComponents, path: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>()
  const entries = (await listTrash(c.root)).filter(e => e.path === path)
  if (entries.length === 0) return out
  const own = c.store.own(path)
  const history = (await c.store.history(path)).map(h => h.record).filter(r => r.device === c.store.self)
  for (const e of entries.sort((x, y) => y.trashedAtMs - x.trashedAtMs)) {
    const r = own?.seq === e.seq ? own : history.find(h => h.seq === e.seq)
    if (r === undefined || r.deleted) continue
    const k = contentKey(r)
    out.set(k, [...(out.get(k) ?? []), e.file])
  }
  return out
}

export async function revisionsOf (c: VersionCatalogComponents, path: string): Promise<Revision[]> {
  path = validatePath(path)
  const remote = await c.remoteHistory?.(path) ?? { answered: [], versions: [] }
  const versions = await versionsOf(c.store, path, remote.versions.map(v => v.record))
  if (versions.length === 0) throw new UnknownPathError(c.folder, path)
  /** relay -> version ids it said it keeps */
  const kept = new Map<string, Set<string>>(remote.answered.map(d => [d, new Set()]))
  for (const v of remote.versions) kept.get(v.from)?.add(versionId(v.record))
  const winner = globalWinner(currentRecords(c.store, path))
  const own = c.store.own(path)
  const trash = await trashByContent(c, path)
  const relays = Object.entries(c.members).filter(([, role]) => role === 'replica').map(([d]) => d)
  return versions.map(r => {
    const sources: RevisionSource[] = []
    if (!r.deleted && r.type === 'file') {
      const k = contentKey(r)
      if (own !== undefined && !own.deleted && contentKey(own) === k) sources.push({ kind: 'local' })
      for (const file of trash.get(k) ?? []) sources.push({ kind: 'trash', file })
      for (const p of c.store.remoteOf(path)) if (!p.deleted && contentKey(p) === k) sources.push({ kind: 'peer', device: p.device })
      if (!sources.some(s => s.kind === 'local' || s.kind === 'trash')) sources.push({ kind: 'peers', status: 'unknown' })
      for (const device of relays) {
        const keeps = kept.get(device)
        if (keeps === undefined) sources.push({ kind: 'relay', status: 'unknown', device })
        else if (keeps.has(versionId(r))) sources.push({ kind: 'relay', status: 'available', device })
      }
    }
    return {
      versionId: versionId(r),
      time: new Date(r.mtimeMs).toISOString(),
      device: r.modifiedBy,
      size: r.size,
      deleted: r.deleted,
      type: r.type,
      current: winner !== undefined && versionId(winner) === versionId(r),
      sources
    }
  })
}

/** Files whose current version everywhere is a deletion (the newest version with content, when known). */
export async function deletedFiles (c: VersionCatalogComponents): Promise<DeletedFile[]> {
  const out: DeletedFile[] = []
  for (const path of c.store.paths()) {
    const winner = globalWinner(currentRecords(c.store, path))
    if (winner === undefined || !winner.deleted || winner.type !== 'file') continue
    const last = (await versionsOf(c.store, path)).find(r => !r.deleted && r.type === 'file')
    out.push({
      path,
      deletedAt: new Date(winner.mtimeMs).toISOString(),
      deletedBy: winner.modifiedBy,
      ...(last === undefined ? {} : { lastVersionId: versionId(last), size: last.size })
    })
  }
  return out.sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
}
