import { blockCid } from '../src/hashing/block-cid.ts'
import { contentKey, type BlockRef, type EntryType, type FileRecord } from '../src/model/file-record.ts'
import { parentPath, pathDepth } from '../src/model/paths.ts'
import { bumpVersion } from '../src/model/version-vector.ts'
import { isConflictCopy } from '../src/sync/conflict-name.ts'
import { plan, type Action } from '../src/sync/planner.ts'

/**
 * One simulated device for property tests of the sync planner: an in-memory disk, its own
 * records, the records it stored from other devices, and an executor that performs the real
 * planner's actions with the same semantics as the real one (see `apply`). No I/O, no time:
 * the clock is injected, so a run is a deterministic function of the operations applied.
 */

/** What the simulated disk holds at a directory path. */
export const DIR_ENTRY = 'dir'

export const DEFAULT_FOLDER_ID = 'sim-folder'
export const FILE_MODE = 0o644
export const DIR_MODE = 0o755

/** Why a record was created: a user operation, a conflict copy, or the scanner (implicit dirs). */
export type RecordOrigin = 'user' | 'conflict' | 'scanner'

export interface CreatedRecord {
  readonly origin: RecordOrigin
  readonly record: FileRecord
}

export interface SimDeviceOptions {
  /** device id; its last 7 characters name it in conflict copies */
  readonly id: string
  readonly folder?: string
  /** simulated wall clock (ms since the epoch) for the mtime of every new version */
  readonly clock: () => number
  /** told of every record this device creates as a new version (not of adopted ones) */
  readonly onCreate?: (created: CreatedRecord) => void
}

interface ContentFields {
  readonly size: number
  readonly blocks: readonly BlockRef[]
}

const encoder = new TextEncoder()
/** contentKey -> content id, so the disk can name what a received record holds */
const contentIds = new Map<string, string>()
const fieldsCache = new Map<string, ContentFields>()

/** File content `contentId` as 1 to 3 blocks with real CIDs, as the chunker would describe it. */
export function contentFields (contentId: string): ContentFields {
  const cached = fieldsCache.get(contentId)
  if (cached !== undefined) return cached
  if (contentId === DIR_ENTRY) throw new Error(`content id ${JSON.stringify(DIR_ENTRY)} is reserved for directories`)
  const count = 1 + (encoder.encode(contentId).byteLength % 3)
  const blocks: BlockRef[] = []
  for (let i = 0; i < count; i++) {
    const bytes = encoder.encode(i === 0 ? contentId : `${contentId}#${i}`)
    blocks.push({ cid: blockCid(bytes), size: bytes.byteLength })
  }
  const fields = { size: blocks.reduce((n, b) => n + b.size, 0), blocks }
  fieldsCache.set(contentId, fields)
  const probe: FileRecord = {
    folder: '', device: '', seq: 0, path: '', type: 'file', mode: FILE_MODE, mtimeMs: 0, deleted: false, modifiedBy: '', version: {}, ...fields
  }
  contentIds.set(contentKey(probe), contentId)
  return fields
}

/** The content id of a live file record created by some simulated device. */
export function contentIdOf (record: FileRecord): string {
  if (record.deleted) throw new Error(`record for ${record.path} is a tombstone`)
  if (record.type === 'dir') return DIR_ENTRY
  const id = contentIds.get(contentKey(record))
  if (id === undefined) throw new Error(`unknown content in record for ${record.path}: ${contentKey(record)}`)
  return id
}

function isBelow (path: string, dir: string): boolean {
  return path.startsWith(`${dir}/`)
}

/** Strict ancestors of `path`, shallow first. */
function ancestors (path: string): string[] {
  const out: string[] = []
  for (let p = parentPath(path); p !== ''; p = parentPath(p)) out.unshift(p)
  return out
}

export class SimDevice {
  readonly id: string
  readonly folder: string
  /** path -> content id of a file, or DIR_ENTRY */
  readonly disk = new Map<string, string>()
  /** this device's newest record per path */
  readonly own = new Map<string, FileRecord>()
  /** other devices' newest record per (device, path) */
  readonly store = new Map<string, Map<string, FileRecord>>()
  /** the next sequence number of this device's log (also its version counter) */
  nextSeq = 1
  private readonly clock: () => number
  private readonly onCreate: (created: CreatedRecord) => void

  constructor (options: SimDeviceOptions) {
    this.id = options.id
    this.folder = options.folder ?? DEFAULT_FOLDER_ID
    this.clock = options.clock
    this.onCreate = options.onCreate ?? (() => {})
  }

  // --- user operations (what the scanner would record) -------------------------------------

  /** Writes file content at `path`, creating missing parent directories. */
  userWrite (path: string, contentId: string): void {
    if (isConflictCopy(path)) throw new Error(`${this.id}: the simulated user does not write conflict copies: ${path}`)
    const current = this.disk.get(path)
    if (current === DIR_ENTRY) throw new Error(`${this.id}: cannot write file ${path}: a directory is there`)
    this.ensureParents(path, 'user')
    this.disk.set(path, contentId)
    this.newVersion(path, this.fileFields(contentId, this.clock()), 'user')
  }

  /**
   * Deletes `path`; a directory with everything below it, deepest first. Conflict copies are
   * left alone (the simulated user never touches them), so a directory holding one stays.
   * False if `path` is absent or a conflict copy.
   */
  userDelete (path: string): boolean {
    const current = this.disk.get(path)
    if (current === undefined || isConflictCopy(path)) return false
    if (current === DIR_ENTRY) {
      const below = [...this.disk.keys()].filter(p => isBelow(p, path) && !isConflictCopy(p))
        .sort((a, b) => pathDepth(b) - pathDepth(a) || (a < b ? -1 : 1))
      for (const p of below) {
        if (!this.hasEntriesBelow(p)) this.deleteEntry(p)
      }
      if (this.hasEntriesBelow(path)) return true
    }
    this.deleteEntry(path)
    return true
  }

  /** Renames a file: delete `from`, then write `to` with its content; false if `from` is no file. */
  userRename (from: string, to: string): boolean {
    const content = this.disk.get(from)
    if (content === undefined || content === DIR_ENTRY || from === to || isConflictCopy(from) || isConflictCopy(to)) return false
    this.userDelete(from)
    this.userWrite(to, content)
    return true
  }

  /** Creates a directory (and its parents); false if it already exists. */
  userMkdir (path: string): boolean {
    const current = this.disk.get(path)
    if (current === DIR_ENTRY) return false
    if (current !== undefined) throw new Error(`${this.id}: cannot mkdir ${path}: a file is there`)
    this.ensureParents(path, 'user')
    this.disk.set(path, DIR_ENTRY)
    this.newVersion(path, this.dirFields(this.clock()), 'user')
    return true
  }

  // --- sync -----------------------------------------------------------------------------------

  /** Every record this device holds: its own and those stored from others. */
  allRecords (): FileRecord[] {
    const out = [...this.own.values()]
    for (const byPath of this.store.values()) out.push(...byPath.values())
    return out
  }

  /** Takes every record `other` holds except our own, keeping the newest per (device, path). */
  receiveFrom (other: SimDevice): void {
    for (const r of other.allRecords()) {
      if (r.device === this.id) continue
      let byPath = this.store.get(r.device)
      if (byPath === undefined) {
        byPath = new Map()
        this.store.set(r.device, byPath)
      }
      const known = byPath.get(r.path)
      if (known === undefined || r.seq > known.seq) byPath.set(r.path, r)
    }
  }

  /** path -> every other device's newest record, as the planner takes it. */
  remoteRecords (): Map<string, FileRecord[]> {
    const remote = new Map<string, FileRecord[]>()
    for (const byPath of this.store.values()) {
      for (const r of byPath.values()) {
        const list = remote.get(r.path)
        if (list === undefined) remote.set(r.path, [r])
        else list.push(r)
      }
    }
    return remote
  }

  /** What the real planner wants done on this device now. */
  planActions (): Action[] {
    return plan({ local: this.own, remote: this.remoteRecords() })
  }

  /** Plans and executes the actions in order; returns how many were executed. */
  planAndApply (): number {
    const actions = this.planActions()
    for (const action of actions) this.apply(action)
    return actions.length
  }

  /** The disk, sorted by path. */
  snapshot (): Map<string, string> {
    return new Map([...this.disk.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
  }

  /** Throws unless the disk and this device's live records describe the same entries. */
  checkDiskMatchesRecords (): void {
    for (const [path, r] of this.own) {
      const onDisk = this.disk.get(path)
      const expected = r.deleted ? undefined : contentIdOf(r)
      if (onDisk !== expected) throw new Error(`${this.id}: ${path} is ${onDisk ?? 'absent'} on disk but ${expected ?? 'deleted'} in its record`)
    }
    for (const path of this.disk.keys()) {
      if (this.own.get(path)?.deleted !== false) throw new Error(`${this.id}: ${path} is on disk without a live record`)
    }
  }

  // --- executor -------------------------------------------------------------------------------

  /** Performs one action as the real executor does. */
  apply (action: Action): void {
    switch (action.kind) {
      case 'conflict': {
        const local = action.local
        const keepAs = action.conflictPath
        this.ensureParents(keepAs, 'scanner')
        this.disk.set(keepAs, contentIdOf(local))
        this.newVersion(keepAs, {
          type: local.type,
          size: local.size,
          mode: local.mode,
          mtimeMs: local.mtimeMs,
          deleted: false,
          blocks: local.blocks
        }, 'conflict')
        this.disk.delete(action.path) // moved away (a directory may take its place)
        this.takeOver(action.path, action.record)
        return
      }
      case 'dir-over-file': {
        const local = action.local
        if (action.conflictPath !== undefined) {
          this.ensureParents(action.conflictPath, 'scanner')
          this.disk.set(action.conflictPath, contentIdOf(local))
          this.newVersion(action.conflictPath, { type: 'file', size: local.size, mode: local.mode, mtimeMs: local.mtimeMs, deleted: false, blocks: local.blocks }, 'conflict')
        }
        this.disk.set(action.path, DIR_ENTRY)
        this.newVersion(action.path, this.dirFields(this.clock()), 'conflict')
        return
      }
      case 'fetch':
      case 'mkdir':
      case 'adopt':
      case 'delete':
        this.takeOver(action.path, action.record)
    }
  }

  /** Makes the disk match `record` and records it as our copy of that version. */
  private takeOver (path: string, record: FileRecord): void {
    if (record.deleted) {
      if (this.disk.get(path) === DIR_ENTRY && this.hasEntriesBelow(path)) {
        // a directory that still holds live entries is not removed: the scanner sees it anew
        this.newVersion(path, this.dirFields(this.clock()), 'scanner')
        return
      }
      this.disk.delete(path)
    } else {
      const current = this.disk.get(path)
      // a directory is replaced by a file only when empty (rmdir); otherwise the attempt fails
      // and is retried (after this pass's deletes, or never: a livelock the tests catch)
      if (record.type === 'file' && current === DIR_ENTRY && this.hasEntriesBelow(path)) return
      // (a file replaced by a directory goes to the trash: a losing live one was kept first)
      this.ensureParents(path, 'scanner')
      this.disk.set(path, contentIdOf(record))
    }
    this.own.set(path, { ...record, device: this.id, seq: this.nextSeq++ })
  }

  /** Creates missing parent directories on disk, each recorded as a new version. */
  private ensureParents (path: string, origin: RecordOrigin): void {
    for (const dir of ancestors(path)) {
      const current = this.disk.get(dir)
      if (current === DIR_ENTRY) continue
      if (current !== undefined) throw new Error(`${this.id}: cannot create ${path}: ${dir} is a file`)
      this.disk.set(dir, DIR_ENTRY)
      this.newVersion(dir, this.dirFields(this.clock()), origin)
    }
  }

  private hasEntriesBelow (dir: string): boolean {
    for (const p of this.disk.keys()) if (isBelow(p, dir)) return true
    return false
  }

  private deleteEntry (path: string): void {
    const current = this.disk.get(path)
    if (current === undefined) return
    this.disk.delete(path)
    this.newVersion(path, {
      type: current === DIR_ENTRY ? 'dir' : 'file',
      size: 0,
      mode: current === DIR_ENTRY ? DIR_MODE : FILE_MODE,
      mtimeMs: this.clock(),
      deleted: true,
      blocks: []
    }, 'user')
  }

  private fileFields (contentId: string, mtimeMs: number): VersionFields {
    const { size, blocks } = contentFields(contentId)
    return { type: 'file', size, mode: FILE_MODE, mtimeMs, deleted: false, blocks }
  }

  private dirFields (mtimeMs: number): VersionFields {
    return { type: 'dir', size: 0, mode: DIR_MODE, mtimeMs, deleted: false, blocks: [] }
  }

  /** A new version of `path` by this device: the next seq, and our counter bumped to it. */
  private newVersion (path: string, fields: VersionFields, origin: RecordOrigin): FileRecord {
    const seq = this.nextSeq++
    const record: FileRecord = {
      folder: this.folder,
      device: this.id,
      seq,
      path,
      ...fields,
      modifiedBy: this.id,
      version: bumpVersion(this.own.get(path)?.version ?? {}, this.id, seq)
    }
    this.own.set(path, record)
    this.onCreate({ origin, record })
    return record
  }
}

interface VersionFields {
  readonly type: EntryType
  readonly size: number
  readonly mode: number
  readonly mtimeMs: number
  readonly deleted: boolean
  readonly blocks: readonly BlockRef[]
}
